"""
Abuse of private_key_jwt client authentication (RFC 7523, RFC 7521 §4.2, RFC 8725): every
assertion that should not authenticate a client is refused with ``invalid_client`` and 401
(RFC 6749 §5.2, RFC 7521 §4.2.1), says nothing about which check failed, and issues nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import serialization

from interop.documents import DocumentServer, make_certificates
from tests.conftest import ISSUER, token_request
from tests.factories import ClientKey, make_key_client
from tests.security.conftest import assert_oauth_error, form, register, row_counts
from twenty_oauth.models import AccessToken, Client

pytestmark = pytest.mark.django_db

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM = "application/x-www-form-urlencoded"
GENERIC = {"error": "invalid_client", "error_description": "Client authentication failed."}


@pytest.fixture
def machine():
    """A staff-made client_credentials client with an ES256 key; the client and its key."""
    return make_key_client(client_name="Machine", grant_types=["client_credentials"], redirect_uris=[])


def cc(http, assertion: str, headers: dict | None = None, **extra):
    """A client-credentials request authenticated by ``assertion``, with parameters ``extra``."""
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **extra,
    }
    return token_request(http, data, **(headers or {}))


def assert_refused(response, issued: int = 0) -> None:
    """
    invalid_client, 401, the generic description, the Basic challenge; no token issued beyond
    the ``issued`` that the test's accepted requests had.
    """
    body = assert_oauth_error(response, 401, "invalid_client")
    assert body == GENERIC
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert response["Cache-Control"] == "no-store"
    assert AccessToken.objects.count() == issued


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def claims_for(client_id: str, **changes) -> dict:
    from django.utils import timezone

    now = int(timezone.now().timestamp())
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
        **changes,
    }


# --- RFC 7523 §3 item 7: replay --------------------------------------------------------------


def test_rfc7523_3_7_a_replayed_assertion_is_invalid_client(client, machine):
    service, key = machine
    assertion = key.assertion(service.client_id)
    assert cc(client, assertion).status_code == 200
    before = AccessToken.objects.count()
    replay = cc(client, assertion)
    assert_oauth_error(replay, 401, "invalid_client")
    assert replay.json() == GENERIC
    assert AccessToken.objects.count() == before


def test_rfc7523_3_7_an_assertion_spent_at_revocation_cannot_be_replayed_at_the_token_endpoint(
    client, machine
):
    service, key = machine
    assertion = key.assertion(service.client_id)
    revoked = client.post(
        "/oauth/revoke",
        form({"token": "unknown", "client_assertion_type": JWT_BEARER, "client_assertion": assertion}),
        content_type=FORM,
    )
    assert revoked.status_code == 200
    assert_refused(cc(client, assertion))


def test_rfc7523_3_7_the_same_jti_from_another_client_is_its_own(client, machine):
    service, key = machine
    other, other_key = make_key_client(grant_types=["client_credentials"], redirect_uris=[])
    assert cc(client, key.assertion(service.client_id, jti="shared")).status_code == 200
    assert cc(client, other_key.assertion(other.client_id, jti="shared")).status_code == 200
    assert_oauth_error(cc(client, key.assertion(service.client_id, jti="shared")), 401, "invalid_client")


@pytest.mark.parametrize("jti", [None, "", 7, ["a"], "x" * 257])
def test_rfc7523_3_7_an_assertion_without_a_usable_jti_is_refused(client, machine, jti):
    service, key = machine
    assert_refused(cc(client, key.assertion(service.client_id, jti=jti)))


# --- RFC 7523 §3 item 3: audience -----------------------------------------------------------


@pytest.mark.parametrize(
    "audience",
    [
        "https://other-server.example",
        f"{ISSUER}/oauth/revoke",
        f"{ISSUER}/oauth/introspect",
        f"{ISSUER}/mcp",
        f"{ISSUER}/",
        ISSUER.upper(),
        ["https://other-server.example"],
        [],
        7,
        {"aud": ISSUER},
        None,
    ],
)
def test_rfc7523_3_3_an_assertion_for_another_audience_is_refused(client, machine, audience):
    service, key = machine
    assert_refused(cc(client, key.assertion(service.client_id, audience=audience)))


def test_rfc7523_3_3_the_revocation_endpoint_url_is_not_an_audience(client, machine):
    service, key = machine
    response = client.post(
        "/oauth/revoke",
        form(
            {
                "token": "unknown",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": key.assertion(service.client_id, audience=f"{ISSUER}/oauth/revoke"),
            }
        ),
        content_type=FORM,
    )
    assert_oauth_error(response, 401, "invalid_client")


# --- RFC 7523 §3 items 4 to 6: expiry, not-before, issued-at --------------------------------


def test_rfc7523_3_4_an_expired_assertion_is_refused(client, machine, clock):
    service, key = machine
    assertion = key.assertion(service.client_id)  # exp: a minute from now
    clock.advance(60 + 30)  # past exp and the allowed clock skew
    assert_refused(cc(client, assertion))


def test_rfc7523_3_4_a_clock_a_little_behind_is_tolerated(client, machine, clock):
    service, key = machine
    assertion = key.assertion(service.client_id)
    clock.advance(60 + 29)
    assert cc(client, assertion).status_code == 200


@pytest.mark.parametrize("exp", [None, "soon", True, float("inf"), float("nan"), [1]])
def test_rfc7523_3_4_an_assertion_without_a_finite_numeric_exp_is_refused(client, machine, exp):
    service, key = machine
    assert_refused(cc(client, key.assertion(service.client_id, exp=exp)))


def test_rfc7523_3_4_an_assertion_valid_far_into_the_future_is_refused(client, machine, settings):
    from django.utils import timezone

    service, key = machine
    now = int(timezone.now().timestamp())
    assert cc(client, key.assertion(service.client_id, exp=now + 300)).status_code == 200
    assert_refused(cc(client, key.assertion(service.client_id, exp=now + 400)), issued=1)
    assert_refused(cc(client, key.assertion(service.client_id, exp=now + 86400 * 365)), issued=1)
    settings.TWENTY_OAUTH = {"CLIENT_ASSERTION_MAX_LIFETIME": 3600}
    assert cc(client, key.assertion(service.client_id, exp=now + 3000)).status_code == 200


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_rfc7523_3_5_an_assertion_not_yet_valid_is_refused(client, machine, claim):
    from django.utils import timezone

    service, key = machine
    now = int(timezone.now().timestamp())
    assert_refused(cc(client, key.assertion(service.client_id, **{claim: now + 45})))
    assert_refused(cc(client, key.assertion(service.client_id, **{claim: "now"})))
    assert cc(client, key.assertion(service.client_id, **{claim: now + 20})).status_code == 200


# --- RFC 8725 §2.1, §3.1: algorithms -----------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_rfc8725_3_1_an_unsigned_assertion_is_refused(client, machine, alg):
    service, _ = machine
    assert_refused(cc(client, unsigned({"alg": alg, "typ": "JWT"}, claims_for(service.client_id))))


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_rfc8725_2_1_hmac_keyed_with_the_clients_public_key_is_refused(client, machine, alg):
    """The classic confusion: the public key, which anyone can read, used as an HMAC secret."""
    service, key = machine
    public = key.private_key.public_key()
    secrets = [
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        json.dumps(key.public_jwk).encode(),
        json.dumps(key.jwks()).encode(),
        key.public_jwk["x"].encode(),
    ]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    for secret in secrets:
        header = {"alg": alg, "typ": "JWT", "kid": key.kid}
        claims = claims_for(service.client_id, jti=f"hmac-{len(secret)}")
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        signature = hmac.new(secret, signing_input.encode(), digest).digest()
        assert_refused(cc(client, f"{signing_input}.{b64(signature)}"))


def test_rfc7523_3_9_an_rsa_key_cannot_sign_for_another_rsa_algorithm_than_registered(client):
    key = ClientKey("RS256")
    service, _ = make_key_client(
        key, grant_types=["client_credentials"], redirect_uris=[], token_endpoint_auth_signing_alg="RS256"
    )
    as_ps256 = ClientKey("PS256", kid=key.kid, private_key=key.private_key)
    assert_refused(cc(client, as_ps256.assertion(service.client_id)))
    assert cc(client, key.assertion(service.client_id)).status_code == 200


def test_rfc7515_4_1_1_an_alg_that_does_not_fit_the_key_is_refused(client, machine):
    service, key = machine  # an EC P-256 key
    forged = ClientKey("RS256", kid=key.kid)
    assert_refused(cc(client, forged.assertion(service.client_id)))


# --- RFC 7515 §4.1.4: keys of other clients ---------------------------------------------------


def test_rfc7515_4_1_4_a_kid_that_is_not_the_clients_is_refused(client, machine):
    service, key = machine
    other, other_key = make_key_client(grant_types=["client_credentials"], redirect_uris=[])
    # The other client's own key and kid, claiming to be this client.
    assert_refused(cc(client, other_key.assertion(service.client_id)))
    # The other client's key under this client's kid.
    impostor = ClientKey(kid=key.kid, private_key=other_key.private_key)
    assert_refused(cc(client, impostor.assertion(service.client_id)))
    # Without a kid, no key of this client verifies it either.
    anonymous = ClientKey(kid=None, private_key=other_key.private_key)
    assert_refused(cc(client, anonymous.assertion(service.client_id)))


def test_rfc7523_3_9_a_tampered_assertion_is_refused(client, machine):
    service, key = machine
    header, payload, signature = key.assertion(service.client_id).split(".")
    other = json.dumps(claims_for(service.client_id, scope="admin")).encode()
    assert_refused(cc(client, f"{header}.{b64(other)}.{signature}"))


# --- RFC 7523 §3 items 1 and 2: who signed ----------------------------------------------------


def test_rfc7523_3_1_iss_and_sub_must_both_be_the_client_id(client, machine):
    service, key = machine
    other, _ = make_key_client(grant_types=["client_credentials"], redirect_uris=[])
    for claims in (
        {"iss": other.client_id},
        {"iss": None},
        {"iss": ISSUER},
        {"iss": [service.client_id]},
    ):
        assert_refused(cc(client, key.assertion(service.client_id, **claims)))
    # sub names the other client: its keys are looked up, and this key is not one of them.
    assert_refused(cc(client, key.assertion(service.client_id, sub=other.client_id)))


def test_rfc7521_4_2_the_client_id_parameter_must_name_the_signing_client(client, machine):
    service, key = machine
    other, _ = make_key_client(grant_types=["client_credentials"], redirect_uris=[])
    assert_refused(cc(client, key.assertion(service.client_id), client_id=other.client_id))


def test_rfc7523_3_an_unknown_or_deactivated_client_is_refused(client, machine):
    service, key = machine
    assert_refused(cc(client, key.assertion("no-such-client")))
    Client.objects.filter(pk=service.pk).update(is_active=False)
    assert_refused(cc(client, key.assertion(service.client_id)))


# --- RFC 7521 §4.2 and RFC 6749 §2.3: the parameters ------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"},
        {"client_assertion_type": JWT_BEARER.upper()},
        {"client_assertion_type": None},
        {"client_assertion": None},
        {"client_assertion": "not.a.jwt"},
        {"client_assertion": "x" * 8000},
        {"client_assertion": "e30.e30.e30"},
        {"client_assertion": b64(b'{"alg":"ES256"}') + "." + b64(b"[1,2]") + ".AAAA"},
    ],
)
def test_rfc7521_4_2_a_malformed_assertion_request_is_invalid_client(client, machine, params):
    service, key = machine
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": key.assertion(service.client_id),
        "client_id": service.client_id,
        **params,
    }
    assert_refused(token_request(client, {k: v for k, v in data.items() if v is not None}))


def test_rfc6749_2_3_an_assertion_and_a_secret_are_two_methods(client, machine):
    service, key = machine
    with_secret = cc(client, key.assertion(service.client_id), client_secret="guess")
    assert_oauth_error(with_secret, 400, "invalid_request")
    from tests.conftest import basic

    with_basic = cc(
        client,
        key.assertion(service.client_id),
        headers={"HTTP_AUTHORIZATION": basic(service.client_id, "x")},
    )
    assert_oauth_error(with_basic, 400, "invalid_request")
    assert not AccessToken.objects.exists()


def test_rfc7523_2_2_a_private_key_jwt_client_cannot_use_a_secret_or_nothing(client, machine):
    from tests.conftest import basic

    service, _ = machine
    grant = {"grant_type": "client_credentials"}
    assert_refused(token_request(client, {**grant, "client_id": service.client_id}))
    assert_refused(token_request(client, {**grant, "client_id": service.client_id, "client_secret": "x"}))
    assert_refused(token_request(client, grant, HTTP_AUTHORIZATION=basic(service.client_id, "")))


def test_rfc7523_2_2_a_client_with_a_secret_cannot_switch_to_an_assertion(client, service):
    secret_client, _ = service
    key = ClientKey()
    assert_refused(cc(client, key.assertion(secret_client.client_id)))


def test_rfc6749_5_2_repeated_failures_are_throttled(client, machine, settings):
    settings.TWENTY_OAUTH = {"CLIENT_AUTH_FAILURE_LIMIT": "3/m"}
    service, key = machine
    for _ in range(3):
        assert_refused(cc(client, key.assertion(service.client_id, audience="https://elsewhere.example")))
    throttled = cc(client, key.assertion(service.client_id))
    assert_oauth_error(throttled, 429, "too_many_requests")
    assert int(throttled["Retry-After"]) >= 1


# --- RFC 7591 §2, RFC 7517: what a client may register ----------------------------------------


def _private_members(key: ClientKey) -> dict:
    return {"keys": [key.private_jwk]}


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ({"jwks": _private_members(ClientKey("ES256"))}, "private member"),
        ({"jwks": _private_members(ClientKey("RS256"))}, "private member"),
        ({"jwks": _private_members(ClientKey("EdDSA"))}, "private member"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "Symmetric"),
        ({"jwks": {"keys": []}}, "1 to 10 keys"),
        ({"jwks": {"keys": [ClientKey().public_jwk] * 11}}, "1 to 10 keys"),
        ({"jwks": [ClientKey().public_jwk]}, "JWK Set"),
        ({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}}, "cannot be read"),
        ({"jwks": {"keys": [{**ClientKey().public_jwk, "alg": "HS256"}]}}, "alg"),
        ({"jwks": {"keys": [{**ClientKey().public_jwk, "use": "enc"}]}}, "verifies signatures"),
        ({"jwks": {"keys": [{**ClientKey().public_jwk, "kid": "\u00e9"}]}}, "printable"),
        ({"jwks": ClientKey(kid="same").jwks(ClientKey(kid="same"))}, "same kid"),
        ({"jwks": ClientKey().jwks(), "jwks_uri": "https://app.example.com/jwks"}, "both"),
        ({}, "needs jwks or jwks_uri"),
        ({"jwks_uri": "http://app.example.com/jwks"}, "https"),
        ({"jwks_uri": "https://app.example.com/jwks#frag"}, "fragment"),
        ({"jwks_uri": "https://user:pw@app.example.com/jwks"}, "user information"),
        ({"jwks_uri": "https://app.example.com/"}, "path"),
        ({"jwks_uri": "https://app.example.com/a/../jwks"}, "segments"),
        ({"jwks": ClientKey().jwks(), "token_endpoint_auth_signing_alg": "none"}, "none and HMAC"),
        ({"jwks": ClientKey().jwks(), "token_endpoint_auth_signing_alg": "HS256"}, "none and HMAC"),
        ({"jwks": ClientKey("ES256").jwks(), "token_endpoint_auth_signing_alg": "RS256"}, "verifies RS256"),
    ],
)
def test_rfc7591_2_unusable_keys_are_invalid_client_metadata(client, metadata, fragment):
    before = row_counts()
    response = register(
        client,
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            **metadata,
        },
    )
    body = assert_oauth_error(response, 400, "invalid_client_metadata")
    assert fragment in body["error_description"], body
    assert row_counts() == before


def test_rfc7591_2_a_weak_rsa_key_is_refused(client):
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = ClientKey("RS256", private_key=rsa.generate_private_key(public_exponent=65537, key_size=1024))
    response = register(
        client,
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": weak.jwks(),
        },
    )
    assert "2048" in assert_oauth_error(response, 400, "invalid_client_metadata")["error_description"]


def test_rfc7591_2_curves_other_than_p256_are_refused(client):
    from cryptography.hazmat.primitives.asymmetric import ec

    p384 = ClientKey("ES256", private_key=ec.generate_private_key(ec.SECP384R1()))
    response = register(
        client,
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": p384.jwks(),
        },
    )
    assert "P-256" in assert_oauth_error(response, 400, "invalid_client_metadata")["error_description"]


# --- a jwks_uri at a private address (SSRF) --------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def documents(tls):
    with DocumentServer(0, tls) as server:
        yield server


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "10.0.0.1", "169.254.169.254", "[::ffff:127.0.0.1]", "0.0.0.0"],
)
def test_ssrf_a_jwks_uri_at_a_private_address_is_never_fetched(client, documents, tls, monkeypatch, host):
    """
    The metadata-document fetcher's guard: a host that resolves to a private, loopback or
    link-local address is refused before any connection (RFC 7523 §3, draft-ietf-oauth-client-id-
    metadata-document §6: the server must not become a proxy into its own network).
    """
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    key = ClientKey()
    port = documents.url("x").split(":")[2].split("/")[0]
    documents.publish("keys/private.json", key.jwks())
    registered = register(
        client,
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": f"https://{host}:{port}/keys/private.json",
        },
    )
    assert registered.status_code == 201, registered.content
    service = Client.objects.get(client_id=registered.json()["client_id"])
    Client.objects.filter(pk=service.pk).update(client_credentials_allowed=True)
    assert_refused(cc(client, key.assertion(service.client_id)))
    assert documents.hits("keys/private.json") == 0
