"""Signing keys: JWKS (RFC 7517), rotation without rejecting a token, oauth_keys, pinned keys."""

from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.conftest import api_status as api
from tests.conftest import code_tokens
from tests.factories import AccessTokenFactory, SigningKeyFactory
from twenty_oauth.models import SigningKey
from twenty_oauth.protocol import keys

pytestmark = pytest.mark.django_db


def jwks(http):
    response = http.get("/oauth/jwks")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwk-set+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()["keys"]


def test_jwks_publishes_public_keys_only(client):
    published = jwks(client)
    assert len(published) == 1
    key = published[0]
    assert key["kty"] == "EC" and key["crv"] == "P-256"
    assert key["alg"] == "ES256" and key["use"] == "sig" and key["kid"]
    assert "d" not in key  # no private part
    assert SigningKey.objects.get().kid == key["kid"]


def test_rotation_rejects_no_token(client, user, confidential):
    oauth_client, secret = confidential
    before = code_tokens(client, user, oauth_client, secret)["access_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    out = StringIO()
    call_command("oauth_keys", "rotate", stdout=out)
    assert "now signs" in out.getvalue()
    after = code_tokens(client, user, oauth_client, secret)["access_token"]
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert new_kid != old_kid
    assert {k["kid"] for k in jwks(client)} == {old_kid, new_kid}
    assert api(client, before) == 200
    assert api(client, after) == 200
    # Retiring the old key ends the tokens it signed, and only those.
    call_command("oauth_keys", "retire", "--", old_kid, stdout=StringIO())
    assert api(client, before) == 401
    assert api(client, after) == 200
    assert {k["kid"] for k in jwks(client)} == {new_kid}


def test_create_publishes_before_signing(client, user, confidential):
    oauth_client, secret = confidential
    signing = jwks(client)[0]["kid"]
    call_command("oauth_keys", "create", stdout=StringIO())
    published = {k["kid"] for k in jwks(client)}
    assert len(published) == 2
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == signing
    (new,) = published - {signing}
    call_command("oauth_keys", "activate", "--", new, stdout=StringIO())
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == new


def test_list_and_guard_rails(client):
    jwks(client)
    out = StringIO()
    call_command("oauth_keys", "list", stdout=out)
    assert "signing" in out.getvalue()
    signing = SigningKey.objects.get().kid
    with pytest.raises(CommandError, match="signing key"):
        call_command("oauth_keys", "retire", "--", signing, stdout=StringIO())
    with pytest.raises(CommandError, match="No published key"):
        call_command("oauth_keys", "activate", "nope", stdout=StringIO())


def test_rs256_keys(client, user, confidential):
    oauth_client, secret = confidential
    call_command("oauth_keys", "rotate", "--algorithm", "RS256", stdout=StringIO())
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert api(client, token) == 200
    rsa = [k for k in jwks(client) if k["kty"] == "RSA"]
    assert rsa and rsa[0]["alg"] == "RS256" and "d" not in rsa[0]


def test_pinned_keys(client, user, confidential):
    oauth_client, secret = confidential
    first = keys.private_key_to_pem(keys.generate_private_key("ES256"))
    second = keys.private_key_to_pem(keys.generate_private_key("RS256"))
    with override_settings(TWENTY_OAUTH={"SIGNING_KEYS": [first, second]}):
        published = jwks(client)
        assert [k["alg"] for k in published] == ["ES256", "RS256"]
        token = code_tokens(client, user, oauth_client, secret)["access_token"]
        assert jwt.get_unverified_header(token)["kid"] == published[0]["kid"]
        assert api(client, token) == 200
        with pytest.raises(CommandError, match="pinned"):
            call_command("oauth_keys", "rotate", stdout=StringIO())
    assert not SigningKey.objects.exists()


def test_a_key_rotated_by_another_process_is_picked_up(client, user, confidential):
    """A token with an unknown kid makes the process re-read the keys: workers need no restart."""
    oauth_client, _ = confidential
    jwks(client)  # this process now holds the first key in its cache
    # Another worker rotates: a row appears, this process's cache is not told.
    rotated = SigningKeyFactory()
    _, token = AccessTokenFactory.with_jwt(
        signing_key=rotated, family=None, client=oauth_client, user=user, scope="api"
    )
    assert jwt.get_unverified_header(token)["kid"] == rotated.kid
    assert api(client, token) == 200
    assert rotated.kid in {k["kid"] for k in jwks(client)}


def unknown_kid_token() -> str:
    """What anyone can send: a header naming a kid no one has, and no valid signature."""
    import base64
    import json
    import secrets

    header = {"alg": "ES256", "typ": "at+jwt", "kid": secrets.token_hex(8)}
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.e30.AAAA"


def test_unknown_kids_cannot_make_every_request_reload_the_keys(
    client, monkeypatch, django_assert_max_num_queries, django_assert_num_queries
):
    """An unknown kid forces a reload at most once a second, and known keys are not parsed again."""
    jwks(client)
    parsed = []
    load_pem = keys.load_pem
    monkeypatch.setattr(keys, "load_pem", lambda *a, **k: parsed.append(1) or load_pem(*a, **k))
    with django_assert_max_num_queries(1):  # one forced reload: one SELECT, then none
        for _ in range(20):
            assert api(client, unknown_kid_token()) == 401
    assert parsed == []  # the one key was already parsed
    monkeypatch.setattr(keys, "FORCED_RELOAD_SECONDS", 0.0)
    with django_assert_num_queries(3):  # unlimited, each would reload
        for _ in range(3):
            assert api(client, unknown_kid_token()) == 401


def test_a_kid_that_looks_like_an_option_is_shown_ready_to_paste(monkeypatch):
    """base64url kids begin with '-' one time in 64; the hint the command prints must still run."""
    from twenty_oauth.management.commands.oauth_keys import as_argument

    assert as_argument("-x4Fq") == "-- -x4Fq"
    assert as_argument("x4Fq") == "x4Fq"
    SigningKeyFactory(kid="-dash-kid", activated_at=None)
    out = StringIO()
    call_command("oauth_keys", "activate", "--", "-dash-kid", stdout=out)
    assert "-dash-kid now signs." in out.getvalue()
