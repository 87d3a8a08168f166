"""Signing keys: JWKS (RFC 7517), rotation without rejecting a token, oauth_keys, pinned keys."""

from io import StringIO
from types import SimpleNamespace

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import ISSUER, basic, code_request, code_tokens, obtain_code, pkce_pair, token_request
from tests.conftest import api_status as api
from tests.factories import (
    AccessTokenFactory,
    ClientFactory,
    SigningKeyFactory,
    UserFactory,
    signed_access_token,
)
from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import AccessToken, SigningKey, TokenFamily
from twenty_oauth.protocol import key_encryption, keys

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
    stored = list(SigningKey.objects.values_list("kid", "private_key"))
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
        call_command("migrate", verbosity=0)  # creates no key: none is needed
    assert list(SigningKey.objects.values_list("kid", "private_key")) == stored


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


# --- keys at rest: encrypted with the key-encryption key, created by migrate -----------------

PEM_MARKER = "PRIVATE KEY"


def stored_keys() -> list[tuple]:
    """Every column of every key row, as the database holds it."""
    return list(SigningKey.objects.order_by("pk").values_list())


def service_token(http, service):
    oauth_client, secret = service
    return token_request(
        http, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret)
    )


def verify_with_jwks(http, token: str) -> dict:
    """What a resource server does: find the token's kid in /oauth/jwks and check the signature."""
    kid = jwt.get_unverified_header(token)["kid"]
    (published,) = [k for k in jwks(http) if k["kid"] == kid]
    return jwt.decode(
        token, jwt.PyJWK(published).key, algorithms=[published["alg"]], issuer=ISSUER, audience=ISSUER
    )


def test_the_database_never_holds_a_private_key_in_clear(client, user, confidential):
    oauth_client, secret = confidential
    call_command("oauth_keys", "create", stdout=StringIO())
    call_command("oauth_keys", "rotate", "--algorithm", "RS256", stdout=StringIO())
    assert SigningKey.objects.count() == 3  # the one migrate made, and two
    for kid, private_key in SigningKey.objects.values_list("kid", "private_key"):
        assert private_key.startswith("enc:v1:")
        assert PEM_MARKER not in private_key and "BEGIN" not in private_key
        assert kid not in private_key
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert verify_with_jwks(client, token)["client_id"] == oauth_client.client_id
    assert api(client, token) == 200
    # Two encryptions of one key differ: a nonce of its own each time.
    row = SigningKey.objects.first()
    pem = key_encryption.decrypt(row.private_key, row.kid)
    assert key_encryption.encrypt(pem, row.kid) != key_encryption.encrypt(pem, row.kid)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(client, caplog):
    """The kid is the associated data: a key cannot be passed off under another key's kid."""
    signing = SigningKey.objects.get()
    other = SigningKeyFactory(activated_at=None)
    SigningKey.objects.filter(pk=other.pk).update(private_key=signing.private_key)
    keys.clear_cache()
    assert {k["kid"] for k in jwks(client)} == {signing.kid}
    assert f"The signing key {other.kid} cannot be decrypted" in caplog.text


def test_no_request_creates_a_key(client, user, confidential, service, caplog):
    """With no key, the token endpoint answers 503 temporarily_unavailable and writes nothing."""
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    SigningKey.objects.all().delete()
    keys.clear_cache()
    records = AccessToken.objects.count()

    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 503
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "The server has no key to sign access tokens with.",
    }
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"
    assert service_token(client, service).status_code == 503
    assert jwks(client) == []
    assert SigningKey.objects.count() == 0
    assert AccessToken.objects.count() == records  # no half-written token
    assert not TokenFamily.objects.filter(client=oauth_client).exists()

    call_command("oauth_keys", "rotate", stdout=StringIO())
    # The code was not spent by the answer that could not sign: it is redeemed now.
    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 200, response.content
    assert api(client, response.json()["access_token"]) == 200


def test_with_no_key_the_table_is_read_at_most_once_a_second(client, service, monkeypatch):
    SigningKey.objects.all().delete()
    keys.clear_cache()
    clock = [1000.0]
    monkeypatch.setattr(keys, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def key_reads() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert service_token(client, service).status_code == 503
        return sum(SigningKey._meta.db_table in query["sql"] for query in queries.captured_queries)

    assert key_reads() == 1
    assert [key_reads() for _ in range(5)] == [1, 0, 0, 0, 0]  # one more read, then none
    clock[0] += 0.9
    assert key_reads() == 0
    clock[0] += 0.2
    assert key_reads() == 1
    call_command("oauth_keys", "rotate", stdout=StringIO())  # in this process: the cache is told
    assert service_token(client, service).status_code == 200


def test_a_key_is_decrypted_once_per_process_not_per_request(client, service, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(keys, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    decrypted = []
    decrypt = key_encryption.decrypt
    monkeypatch.setattr(key_encryption, "decrypt", lambda *a: decrypted.append(a[1]) or decrypt(*a))
    (row,) = SigningKey.objects.all()
    for _ in range(5):
        response = service_token(client, service)
        assert response.status_code == 200
        assert api(client, response.json()["access_token"]) == 200
    assert decrypted == [row.kid]
    clock[0] += oauth_settings.KEY_CACHE_SECONDS + 1  # the table is read again, the key is not decrypted
    assert api(client, response.json()["access_token"]) == 200
    assert decrypted == [row.kid]


def test_migrate_creates_the_first_key_and_only_then(db):
    SigningKey.objects.all().delete()
    out = StringIO()
    call_command("migrate", stdout=out)
    (row,) = SigningKey.objects.all()
    assert row.activated_at is not None and row.retired_at is None and row.algorithm == "ES256"
    assert row.private_key.startswith("enc:v1:")
    assert f"Created the signing key {row.kid} (ES256)." in out.getvalue()
    before = stored_keys()
    call_command("migrate", verbosity=0)  # a key signs: none is added
    assert stored_keys() == before
    SigningKey.objects.update(retired_at=timezone.now())
    with override_settings(TWENTY_OAUTH={"SIGNING_ALGORITHM": "RS256"}):
        call_command("migrate", verbosity=0)  # every key retired: a new one signs
    assert SigningKey.objects.filter(retired_at__isnull=True).get().algorithm == "RS256"


def test_a_token_signed_before_a_key_encryption_key_rotation_still_verifies(client, service, caplog):
    old_kek, new_kek = key_encryption.new_kek(), key_encryption.new_kek()
    with override_settings(TWENTY_OAUTH={"KEY_ENCRYPTION_KEYS": [old_kek]}):
        call_command("oauth_keys", "rotate", stdout=StringIO())
        response = service_token(client, service)
        assert response.status_code == 200
        token = response.json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]

    # The new KEK first, the old one after it: both decrypt, the new one encrypts.
    with override_settings(TWENTY_OAUTH={"KEY_ENCRYPTION_KEYS": [new_kek, old_kek]}):
        assert api(client, token) == 200
        out = StringIO()
        call_command("oauth_keys", "reencrypt", stdout=out)
        assert "Encrypted 2 keys with TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][0]." in out.getvalue()

    # Without the old KEK, and even with another SECRET_KEY: a new process reads every key.
    with override_settings(TWENTY_OAUTH={"KEY_ENCRYPTION_KEYS": [new_kek]}, SECRET_KEY="another"):
        keys.clear_cache()
        assert kid in {k["kid"] for k in jwks(client)}
        assert verify_with_jwks(client, token)["sub"] == service[0].client_id
        assert api(client, token) == 200
        assert service_token(client, service).status_code == 200

    # With neither: the key is left out, tokens it signed are refused, nothing new is signed,
    # and no log line holds key material.
    with override_settings(TWENTY_OAUTH={"KEY_ENCRYPTION_KEYS": [old_kek]}, SECRET_KEY="another"):
        keys.clear_cache()
        assert jwks(client) == []
        assert api(client, token) == 401
        response = service_token(client, service)
        assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
    assert f"The signing key {kid} cannot be decrypted with any key-encryption key" in caplog.text
    assert "The signing key cannot be decrypted: access tokens cannot be issued." in caplog.text
    stored = "".join(SigningKey.objects.values_list("private_key", flat=True))
    for record in caplog.records:
        text = record.getMessage()
        assert PEM_MARKER not in text and old_kek not in text and new_kek not in text
        assert not any(chunk in text for chunk in stored.split("enc:v1:") if chunk)


def test_keys_encrypted_with_an_old_secret_key_decrypt_through_its_fallback(client, service, settings):
    call_command("oauth_keys", "rotate", stdout=StringIO())
    token = service_token(client, service).json()["access_token"]
    old_secret = settings.SECRET_KEY
    with override_settings(SECRET_KEY="the-new-one", SECRET_KEY_FALLBACKS=[old_secret]):
        keys.clear_cache()
        assert api(client, token) == 200
        out = StringIO()
        call_command("oauth_keys", "list", stdout=out)
        assert out.getvalue().count("encrypted with SECRET_KEY_FALLBACKS[0]") == 2
        call_command("oauth_keys", "reencrypt", stdout=StringIO())
        out = StringIO()
        call_command("oauth_keys", "list", stdout=out)
        assert out.getvalue().count("encrypted with SECRET_KEY\n") == 2
    with override_settings(SECRET_KEY="the-new-one"):
        keys.clear_cache()
        assert api(client, token) == 200


def test_a_key_stored_before_encryption_still_serves(client, service):
    """A PEM in the table (a row older than encryption) is read as it is until re-encrypted."""
    key = keys.generate_private_key("ES256")
    plain = SigningKeyFactory(key=key, private_key=keys.private_key_to_pem(key))
    keys.clear_cache()
    token = service_token(client, service).json()["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == plain.kid
    assert api(client, token) == 200
    call_command("oauth_keys", "reencrypt", stdout=StringIO())
    plain.refresh_from_db()
    assert plain.private_key.startswith("enc:v1:")
    keys.clear_cache()
    assert api(client, token) == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kek", ["derived", "configured"])
def test_an_old_database_with_plaintext_keys_migrates_and_its_tokens_still_verify(client, kek):
    """
    A database from before encryption: its keys are PEM. The migration encrypts them, and a
    token one of them signed before still verifies, at /oauth/jwks and at a Bearer endpoint.
    Migrating back decrypts them again. The migration's own copy of the encryption writes what
    the application reads, with the KEK derived from SECRET_KEY or with one of its own.
    """
    oauth = {"KEY_ENCRYPTION_KEYS": [key_encryption.new_kek()]} if kek == "configured" else {}
    with override_settings(TWENTY_OAUTH=oauth):
        migrate_an_old_database(client)
        if oauth:
            for row in SigningKey.objects.all():
                assert key_encryption.decrypted_by(row.private_key, row.kid).source.endswith("[0]")


def migrate_an_old_database(client) -> None:
    executor = MigrationExecutor(connection)
    encrypting = ("twenty_oauth", "0005_signing_keys_encrypted")
    (before,) = [
        p.key for p in executor.loader.graph.node_map[encrypting].parents if p.key[0] == "twenty_oauth"
    ]
    user = UserFactory()
    oauth_client = ClientFactory.build()
    record = AccessTokenFactory.build(family=None, client=oauth_client, user=user)
    pem = keys.private_key_to_pem(keys.generate_private_key("ES256"))
    kid = keys.load_pem(pem).kid
    try:
        executor.migrate([before])
        OldSigningKey = executor.loader.project_state(before).apps.get_model("twenty_oauth", "SigningKey")
        assert OldSigningKey.objects.get().private_key.startswith("-----BEGIN PRIVATE KEY-----")
        old_row = OldSigningKey.objects.create(
            kid=kid, algorithm="ES256", private_key=pem, activated_at=timezone.now()
        )
        token = signed_access_token(record, signing_key=old_row)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

        oauth_client.save()
        record.save()
        keys.clear_cache()
        stored = SigningKey.objects.get(kid=kid).private_key
        assert stored.startswith("enc:v1:") and PEM_MARKER not in stored
        assert not SigningKey.objects.exclude(private_key__startswith="enc:v1:").exists()
        assert verify_with_jwks(client, token)["jti"] == record.jti
        assert api(client, token) == 200

        executor.loader.build_graph()
        executor.migrate([before])
        assert OldSigningKey.objects.get(kid=kid).private_key == pem
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
