"""Every check of a DPoP proof (RFC 9449 §4.3, §11.1), each failing alone, at the token endpoint."""

import base64
import json
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.test import override_settings

from tests.conftest import (
    REDIRECT,
    code_request,
    obtain_code,
    pkce_pair,
    query_of,
    refresh_request,
    token_request,
)
from tests.dpop import TOKEN_URL, DPoPKey
from tests.security.test_floods import REDIS_URL, ROOT, redis_caches
from twenty_oauth.models import AuthorizationCode, RefreshToken

pytestmark = pytest.mark.django_db


def credentials(service):
    oauth_client, secret = service
    return {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret}


def assert_invalid_proof(response):
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_dpop_proof"
    assert response["Cache-Control"] == "no-store"
    assert "access_token" not in response.json()


def test_rfc9449_s4_3_valid_proof_is_accepted(client, service):
    response = token_request(client, credentials(service), HTTP_DPOP=DPoPKey().proof())
    assert response.status_code == 200
    assert response.json()["token_type"] == "DPoP"


@pytest.mark.parametrize("value", ["", "abc", "a.b.c", "a.b", DPoPKey().proof() + "," + DPoPKey().proof()])
def test_rfc9449_s4_3_points_1_2_not_one_jwt(client, service, value):
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=value))


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_rfc9449_s4_3_point_3_missing_claim(client, service, claim):
    proof = DPoPKey().proof(drop=(claim,))
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt"])
def test_rfc9449_s4_3_point_4_typ(client, service, typ):
    proof = DPoPKey().proof(headers={"typ": typ})
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_5_symmetric_alg_refused(client, service):
    import jwt

    key = DPoPKey()
    proof = jwt.encode(
        {"jti": "x", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())},
        "secret-secret-secret-secret-secret!",
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": key.jwk},
    )
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_5_alg_none_refused(client, service):
    import jwt

    key = DPoPKey()
    proof = jwt.encode(
        {"jti": "x", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())},
        None,
        algorithm="none",
        headers={"typ": "dpop+jwt", "jwk": key.jwk},
    )
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_6_signature_by_another_key(client, service):
    proof = DPoPKey().proof(headers={"jwk": DPoPKey().jwk})
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_6_tampered_signature(client, service):
    header, body, signature = DPoPKey().proof().split(".")
    tampered = f"{header}.{body}.{signature[:-4]}AAAA"
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=tampered))


def test_rfc9449_s4_3_point_7_private_key_in_jwk(client, service):
    key = DPoPKey()
    d = key.private.private_numbers().private_value.to_bytes(32, "big")
    from tests.dpop import b64url

    proof = key.proof(headers={"jwk": {**key.jwk, "d": b64url(d)}})
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


@pytest.mark.parametrize("jwk", [None, "key", {"kty": "oct", "k": "c2VjcmV0"}, {"kty": "EC", "crv": "P-256"}])
def test_rfc9449_s4_3_point_7_jwk_not_a_public_key(client, service, jwk):
    proof = DPoPKey().proof(headers={"jwk": jwk if jwk is not None else None})
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_8_htm(client, service):
    proof = DPoPKey().proof(method="GET")
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


@pytest.mark.parametrize(
    "htu",
    [
        "http://testserver/oauth/introspect",
        "https://testserver/oauth/token",
        "http://evil.example/oauth/token",
    ],
)
def test_rfc9449_s4_3_point_9_htu(client, service, htu):
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=DPoPKey().proof(htu)))


@pytest.mark.parametrize(
    "htu",
    [
        "http://testserver/oauth/token?x=1",
        "http://TESTSERVER:80/oauth/token#f",
        "HTTP://testserver/oauth/token",
    ],
)
def test_rfc9449_s4_3_point_9_htu_compared_without_query_and_fragment(client, service, htu):
    response = token_request(client, credentials(service), HTTP_DPOP=DPoPKey().proof(htu))
    assert response.status_code == 200, response.content


def test_rfc9449_s4_3_point_9_htu_not_from_spoofed_host(client, service, settings):
    settings.TWENTY_OAUTH = {"ISSUER": "https://auth.example.com"}
    settings.ALLOWED_HOSTS = ["*"]
    proof = DPoPKey().proof("https://evil.example/oauth/token")
    response = token_request(client, credentials(service), HTTP_DPOP=proof, HTTP_HOST="evil.example")
    assert_invalid_proof(response)
    proof = DPoPKey().proof("https://auth.example.com/oauth/token")
    response = token_request(client, credentials(service), HTTP_DPOP=proof, HTTP_HOST="evil.example")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("age", [61, 3600, -6, -3600])
def test_rfc9449_s4_3_point_11_iat_outside_window(client, service, age):
    proof = DPoPKey().proof(now=time.time() - age)
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_11_iat_window_is_a_setting(client, service, settings):
    settings.TWENTY_OAUTH = {"DPOP_PROOF_MAX_AGE": 300}
    proof = DPoPKey().proof(now=time.time() - 200)
    assert token_request(client, credentials(service), HTTP_DPOP=proof).status_code == 200


def test_rfc9449_s4_3_point_11_iat_against_the_servers_clock(client, service, clock):
    proof = DPoPKey().proof()
    clock.advance(120)
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_12_ath_refused_at_token_endpoint(client, service):
    proof = DPoPKey().proof(access_token="some-token")
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s11_1_replayed_proof_refused_at_token_endpoint(client, service):
    proof = DPoPKey().proof()
    assert token_request(client, credentials(service), HTTP_DPOP=proof).status_code == 200
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s11_1_unreachable_replay_cache_refuses(client, service, settings):
    settings.CACHES = {
        **settings.CACHES,
        "down": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1"},
    }
    settings.TWENTY_OAUTH = {"DPOP_REPLAY_CACHE": "down"}
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=DPoPKey().proof()))


# -- at the resource (RFC 9449 §7) ----------------------------------------------------------

API_URL = "http://testserver/rest/companies"


@pytest.fixture
def bound(client, service):
    """A DPoP-bound client-credentials token and its key."""
    key = DPoPKey()
    response = token_request(client, credentials(service), HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    return response.json()["access_token"], key


def call(http, token, proof=None, scheme="DPoP", path="/rest/companies", **headers):
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return http.get(path, HTTP_AUTHORIZATION=f"{scheme} {token}", **headers)


def assert_refused(response, error="invalid_dpop_proof"):
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert f'DPoP error="{error}"' in challenge
    assert 'algs="ES256 RS256 PS256 EdDSA"' in challenge
    assert 'Bearer resource_metadata="http://testserver/.well-known/oauth-protected-resource"' in challenge
    assert "Airbnb" not in response.content.decode()


def test_rfc9449_s7_valid_proof_at_resource(client, bound):
    token, key = bound
    assert call(client, token, key.proof(API_URL, "GET", access_token=token)).status_code == 200


def test_rfc9449_s7_2_bound_token_as_bearer_refused(client, bound):
    token, _ = bound
    response = call(client, token, scheme="Bearer")
    assert response.status_code == 401
    metadata = 'resource_metadata="http://testserver/.well-known/oauth-protected-resource"'
    assert response["WWW-Authenticate"].startswith(f'Bearer {metadata}, error="invalid_token", DPoP algs=')


def test_rfc9449_s7_2_bound_token_as_bearer_refused_even_with_a_proof(client, bound):
    token, key = bound
    response = call(client, token, key.proof(API_URL, "GET", access_token=token), scheme="Bearer")
    assert response.status_code == 401


def test_rfc9449_s7_1_dpop_scheme_without_proof(client, bound):
    token, _ = bound
    assert_refused(call(client, token))


def test_rfc9449_s7_1_unbound_token_with_dpop_scheme(client, service):
    token = token_request(client, credentials(service)).json()["access_token"]
    proof = DPoPKey().proof(API_URL, "GET", access_token=token)
    assert_refused(call(client, token, proof), error="invalid_token")


def test_rfc9449_s4_3_point_8_htm_at_resource(client, bound):
    token, key = bound
    assert_refused(call(client, token, key.proof(API_URL, "POST", access_token=token)))


def test_rfc9449_s4_3_point_9_htu_at_resource(client, bound):
    token, key = bound
    assert_refused(
        call(client, token, key.proof("http://testserver/rest/constant", "GET", access_token=token))
    )


def test_rfc9449_s4_3_point_9_htu_not_from_spoofed_host_at_resource(client, service, settings):
    settings.TWENTY_OAUTH = {"ISSUER": "https://auth.example.com"}
    settings.ALLOWED_HOSTS = ["*"]
    key = DPoPKey()
    proof = key.proof("https://auth.example.com/oauth/token")
    token = token_request(client, credentials(service), HTTP_DPOP=proof, HTTP_HOST="auth.example.com").json()[
        "access_token"
    ]
    spoofed = key.proof("https://evil.example/rest/companies", "GET", access_token=token)
    response = call(client, token, spoofed, HTTP_HOST="evil.example")
    assert response.status_code == 401
    assert 'DPoP error="invalid_dpop_proof"' in response["WWW-Authenticate"]
    honest = key.proof("https://auth.example.com/rest/companies", "GET", access_token=token)
    assert call(client, token, honest, HTTP_HOST="evil.example").status_code == 200


def test_rfc9449_s4_3_point_12_ath_missing(client, bound):
    token, key = bound
    assert_refused(call(client, token, key.proof(API_URL, "GET")))


def test_rfc9449_s4_3_point_12_ath_of_another_token(client, bound):
    token, key = bound
    assert_refused(call(client, token, key.proof(API_URL, "GET", access_token=token + "x")))


def test_rfc9449_s4_3_point_13_proof_by_another_key(client, bound):
    token, _ = bound
    thief = DPoPKey()
    assert_refused(call(client, token, thief.proof(API_URL, "GET", access_token=token)))


def test_rfc9449_s4_3_point_11_stale_proof_at_resource(client, bound):
    token, key = bound
    assert_refused(call(client, token, key.proof(API_URL, "GET", access_token=token, now=time.time() - 120)))


def test_rfc9449_s11_1_replayed_proof_refused_at_resource(client, bound):
    token, key = bound
    proof = key.proof(API_URL, "GET", access_token=token)
    assert call(client, token, proof).status_code == 200
    assert_refused(call(client, token, proof))


def test_rfc9449_s4_3_point_6_forged_signature_at_resource(client, bound):
    token, key = bound
    header, body, _ = key.proof(API_URL, "GET", access_token=token).split(".")
    other = DPoPKey().proof(API_URL, "GET", access_token=token).split(".")[2]
    assert_refused(call(client, token, f"{header}.{body}.{other}"))


# -- bound refresh tokens and codes (RFC 9449 §5, §10) --------------------------------------


def public_dpop_tokens(http, user, public, key, **kwargs):
    verifier, challenge = pkce_pair()
    code = obtain_code(http, user, public, challenge=challenge, **kwargs)
    response = token_request(http, code_request(public, code, verifier), HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    return response.json()


def test_rfc9449_s5_refresh_with_another_key_refused(client, user, public):
    body = public_dpop_tokens(client, user, public, DPoPKey())
    response = token_request(
        client, refresh_request(public, body["refresh_token"]), HTTP_DPOP=DPoPKey().proof()
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()
    assert RefreshToken.objects.filter(used_at__isnull=False).count() == 0


def test_rfc9449_s5_refresh_without_proof_refused(client, user, public):
    body = public_dpop_tokens(client, user, public, DPoPKey())
    response = token_request(client, refresh_request(public, body["refresh_token"]))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert RefreshToken.objects.filter(used_at__isnull=False).count() == 0


def test_rfc9449_s10_dpop_jkt_mismatch_refused(client, user, public):
    bound_to = DPoPKey()
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge, extra={"dpop_jkt": bound_to.jkt})
    response = token_request(client, code_request(public, code, verifier), HTTP_DPOP=DPoPKey().proof())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    without = token_request(client, code_request(public, code, verifier))
    assert without.status_code == 400
    assert without.json()["error"] == "invalid_grant"
    assert AuthorizationCode.objects.get().used_at is None


def test_rfc9449_s10_malformed_dpop_jkt_is_redirected_as_invalid_request(client, user, public):
    verifier, challenge = pkce_pair()
    client.force_login(user)
    response = client.get(
        "/oauth/authorize",
        {
            "client_id": public.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "dpop_jkt": "not a thumbprint",
        },
    )
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert response["Location"].startswith(REDIRECT)


# -- nonces (RFC 9449 §8) -------------------------------------------------------------------


@pytest.fixture
def nonces(settings):
    settings.TWENTY_OAUTH = {"DPOP_NONCES": True, "DPOP_NONCE_SECONDS": 120}


def nonce_of(http, service):
    response = token_request(http, credentials(service), HTTP_DPOP=DPoPKey().proof())
    assert response.status_code == 400
    assert response.json()["error"] == "use_dpop_nonce"
    assert response["Cache-Control"] == "no-store"
    return response["DPoP-Nonce"]


@pytest.mark.parametrize("nonce", ["made-up", "0.AAAA", ""])
def test_rfc9449_s8_forged_nonce_refused(client, service, nonces, nonce):
    response = token_request(client, credentials(service), HTTP_DPOP=DPoPKey().proof(nonce=nonce))
    assert response.status_code == 400
    assert response.json()["error"] == "use_dpop_nonce"
    assert response["DPoP-Nonce"] != nonce


def test_rfc9449_s8_nonce_expires_after_two_windows(client, service, nonces, clock):
    nonce = nonce_of(client, service)
    key = DPoPKey()

    def with_nonce():
        proof = key.proof(nonce=nonce, now=time.time() + clock.offset.total_seconds())
        return token_request(client, credentials(service), HTTP_DPOP=proof)

    # Into the next window: the nonce given in the one before is still good.
    clock.advance(120 - time.time() % 120 + 1)
    assert with_nonce().status_code == 200
    # Two windows later it is not, and the answer gives the current one.
    clock.advance(240)
    late = with_nonce()
    assert late.status_code == 400
    assert late.json()["error"] == "use_dpop_nonce"
    assert late["DPoP-Nonce"] != nonce


def test_rfc9449_s8_nonce_does_not_depend_on_the_process(client, service, nonces):
    from twenty_oauth.protocol import dpop

    dpop_nonce = nonce_of(client, service)
    # Another process derives the same value from SECRET_KEY and the clock: nothing is stored.
    assert dpop.current_nonce() == dpop_nonce


def test_rfc9449_s8_nonce_depends_on_the_secret_key(client, service, nonces, settings):
    nonce = nonce_of(client, service)
    settings.SECRET_KEY = "another-secret-key-another-secret-key-another-secret-key"
    response = token_request(client, credentials(service), HTTP_DPOP=DPoPKey().proof(nonce=nonce))
    assert response.json()["error"] == "use_dpop_nonce"


# -- one jti, two processes (RFC 9449 §11.1) ------------------------------------------------

OTHER_PROCESS = """
import json, sys
import django
django.setup()
from django.test import override_settings
from twenty_oauth.errors import InvalidDPoPProof
from twenty_oauth.protocol import dpop
caches, oauth, proofs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
with override_settings(CACHES=caches, TWENTY_OAUTH=oauth):
    for proof in proofs:
        try:
            dpop.check(proof, method="POST", url="http://testserver/oauth/token")
            print("accepted")
        except InvalidDPoPProof as exc:
            print(exc.error)
"""


def other_process(caches: dict, oauth: dict, proofs: list[str]) -> list[str]:
    """Check ``proofs`` in another Python process sharing the replay cache; its answers."""
    worker = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(caches), json.dumps(oauth), json.dumps(proofs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
    )
    assert worker.returncode == 0, worker.stderr
    return worker.stdout.split()


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the Redis on 127.0.0.1:6379, its keys removed afterwards."""
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.fail(f"This test needs Redis at {REDIS_URL}; start one, or leave it out with -m 'not redis'.")
    prefix = f"twenty-oauth-test-{uuid.uuid4().hex}"
    yield prefix
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)


@pytest.mark.redis
def test_rfc9449_s11_1_two_processes_cannot_both_accept_one_jti(client, service, redis_prefix):
    caches = redis_caches(redis_prefix)
    oauth = {"DPOP_REPLAY_CACHE": "ratelimit"}
    key = DPoPKey()
    here, there = key.proof(), key.proof()
    with override_settings(CACHES=caches, TWENTY_OAUTH=oauth):
        assert token_request(client, credentials(service), HTTP_DPOP=here).status_code == 200
        # The other process sees the jti this one recorded, and records its own.
        assert other_process(caches, oauth, [here, there]) == ["invalid_dpop_proof", "accepted"]
        assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=there))


@pytest.mark.parametrize("iat", [float("nan"), float("inf"), "1700000000", True, None])
def test_rfc9449_s4_3_point_11_iat_not_a_number(client, service, iat):
    proof = DPoPKey().proof(iat=iat)
    assert_invalid_proof(token_request(client, credentials(service), HTTP_DPOP=proof))


def test_rfc9449_s4_3_point_2_claims_not_an_object(client, service):
    key = DPoPKey()
    header, _, signature = key.proof().split(".")
    body = base64.urlsafe_b64encode(b"[1, 2]").rstrip(b"=").decode()
    assert_invalid_proof(
        token_request(client, credentials(service), HTTP_DPOP=f"{header}.{body}.{signature}")
    )
