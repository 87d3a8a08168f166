"""
PKCE (RFC 7636), S256 only, and no downgrade (RFC 9700 §4.8.2): a verifier without a challenge
or a challenge without a verifier is refused, as is anything outside RFC 7636's grammar.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from tests.conftest import REDIRECT, obtain_code, pkce_pair, query_of, token_request
from tests.security.conftest import assert_oauth_error, row_counts
from twenty_oauth.models import AuthorizationCode

pytestmark = pytest.mark.django_db


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redeem(http, oauth_client, code: str, secret: str | None = None, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    data["client_id"] = oauth_client.client_id
    if secret:
        data["client_secret"] = secret
    data.update(extra)
    return token_request(http, data)


def authorization_error(http, user, oauth_client, **params) -> dict[str, str]:
    """The error redirected back to the client for an authorization request with ``params``."""
    http.force_login(user)
    query = {"client_id": oauth_client.client_id, "response_type": "code", "redirect_uri": REDIRECT}
    response = http.get("/oauth/authorize?" + urlencode({**query, "state": "s", **params}))
    assert response.status_code == 302, response.content[:200]
    assert response["Location"].startswith(REDIRECT + "?")
    return query_of(response["Location"])


def test_rfc9700_4_8_2_verifier_without_challenge_is_refused(client, user, confidential):
    oauth_client, secret = confidential
    code = obtain_code(client, user, oauth_client)  # a confidential client may skip PKCE
    verifier, _ = pkce_pair()
    response = redeem(client, oauth_client, code, secret, code_verifier=verifier)
    assert_oauth_error(response, 400, "invalid_grant")
    assert "access_token" not in response.json()


def test_rfc9700_4_8_2_challenge_without_verifier_is_refused(client, user, confidential):
    oauth_client, secret = confidential
    _, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    assert_oauth_error(redeem(client, oauth_client, code, secret), 400, "invalid_grant")
    # An empty verifier counts as omitted (RFC 6749 §3.1), not as a verifier.
    assert_oauth_error(redeem(client, oauth_client, code, secret, code_verifier=""), 400, "invalid_grant")


def test_rfc9700_2_1_1_public_client_must_send_a_challenge(client, user, public):
    before = row_counts()
    error = authorization_error(client, user, public)
    assert error["error"] == "invalid_request"
    assert "code_challenge" in error["error_description"]
    assert row_counts() == before


def test_rfc9700_2_1_1_pkce_required_for_all_clients_when_configured(client, user, confidential):
    oauth_client, _ = confidential
    with override_settings(TWENTY_OAUTH={"PKCE_REQUIRED": "all"}):
        error = authorization_error(client, user, oauth_client)
    assert error["error"] == "invalid_request"


def test_rfc7636_4_3_plain_method_is_refused(client, user, public):
    verifier, _ = pkce_pair()
    error = authorization_error(client, user, public, code_challenge=verifier, code_challenge_method="plain")
    assert error["error"] == "invalid_request"


def test_rfc7636_4_3_missing_method_is_refused_not_taken_as_plain(client, user, public):
    _, challenge = pkce_pair()
    error = authorization_error(client, user, public, code_challenge=challenge)
    assert error["error"] == "invalid_request"


def test_rfc7636_4_3_method_without_challenge_is_refused(client, user, confidential):
    oauth_client, _ = confidential
    error = authorization_error(client, user, oauth_client, code_challenge_method="S256")
    assert error["error"] == "invalid_request"


def test_rfc7636_4_2_challenge_outside_length_and_alphabet_is_refused(client, user, public):
    _, good = pkce_pair()
    for challenge in [
        good[:42],  # too short
        good + "A",  # too long
        good[:42] + "=",  # padding
        good[:41] + "+/",  # base64, not base64url
        good[:42] + "\u00e9",  # non-ASCII
    ]:
        error = authorization_error(
            client, user, public, code_challenge=challenge, code_challenge_method="S256"
        )
        assert error["error"] == "invalid_request", challenge


def test_rfc7636_4_1_verifier_length_bounds(client, user, public):
    """43 and 128 characters are accepted; 42 and 129 are refused, even when they hash right."""
    for length, accepted in [(42, False), (43, True), (128, True), (129, False)]:
        verifier = ("abcdefghij" * 13)[:length]
        code = obtain_code(client, user, public, challenge=s256(verifier))
        response = redeem(client, public, code, code_verifier=verifier)
        if accepted:
            assert response.status_code == 200, (length, response.content)
        else:
            assert_oauth_error(response, 400, "invalid_request")


def test_rfc7636_4_1_verifier_outside_alphabet_is_refused(client, user, public):
    for verifier in [
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + "=",
        "a" * 42 + "é",
        "a" * 21 + " " + "a" * 21,
    ]:
        code = obtain_code(client, user, public, challenge=s256(verifier))
        response = redeem(client, public, code, code_verifier=verifier)
        assert_oauth_error(response, 400, "invalid_request")
        # The code is not spent by a malformed verifier: nothing was issued.
        assert AuthorizationCode.objects.filter(used_at__isnull=False).count() == 0


def test_rfc7636_4_6_wrong_verifier_is_refused(client, user, public):
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge)
    before = row_counts()
    assert_oauth_error(redeem(client, public, code, code_verifier=other_verifier), 400, "invalid_grant")
    assert row_counts() == before


def test_rfc7636_4_4_metadata_advertises_s256_only(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["code_challenge_methods_supported"] == ["S256"]
