"""
Against real server processes: a resource server in another process verifies a token with only
PyJWT and the published JWK Set, and a revocation in one worker is refused at once by another.
"""

import base64
import hashlib
import json
import secrets
import subprocess
import sys
import urllib.parse

import pytest

from tests.live import Browser, call, prepare, serve

pytestmark = pytest.mark.live

REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "db.sqlite3"
    prepare(path)
    return path


def user_tokens(base: str) -> tuple[dict, dict]:
    """Register a public client, approve it as the demo user, redeem the code."""
    status, _, body = call(
        base,
        "POST",
        "/oauth/register",
        json_body={
            "client_name": "Live test",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        },
    )
    assert status == 201
    registered = json.loads(body)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    browser = Browser(base)
    browser.login()
    params = browser.approve(
        urllib.parse.urlencode(
            {
                "client_id": registered["client_id"],
                "response_type": "code",
                "redirect_uri": REDIRECT,
                "scope": "api profile",
                "state": "live",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )
    assert params["state"] == "live" and params["iss"] == base
    status, headers, body = call(
        base,
        "POST",
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "client_id": registered["client_id"],
            "code_verifier": verifier,
        },
    )
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    return registered, json.loads(body)


VERIFIER = """
import json, sys, jwt
token, jwks_url, issuer = sys.argv[1:4]
key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["ES256", "RS256"], audience=issuer, issuer=issuer)
assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
print(json.dumps(claims))
"""


def test_independent_resource_server_verifies_with_pyjwt_and_jwks(database):
    with serve(database) as base:
        registered, tokens = user_tokens(base)
        metadata = json.loads(call(base, "GET", "/.well-known/oauth-authorization-server")[2])
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                VERIFIER,
                tokens["access_token"],
                metadata["jwks_uri"],
                metadata["issuer"],
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    claims = json.loads(result.stdout)
    assert claims["client_id"] == registered["client_id"]
    assert claims["scope"] == "api profile"
    assert claims["iss"] == base


def test_revocation_reaches_every_worker_at_once(database):
    from tests.live import free_port

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    # Two workers of one deployment: one issuer, one database.
    with serve(database, port, issuer) as first, serve(database, issuer=issuer) as second:
        registered, tokens = user_tokens(first)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        # Each worker accepts the token the other issued: they share the signing keys.
        for base in (first, second):
            assert call(base, "GET", "/oauth/userinfo", headers=bearer)[0] == 200
            assert call(base, "GET", "/rest/companies", headers=bearer)[0] == 200
        status, _, _ = call(
            first,
            "POST",
            "/oauth/revoke",
            form={
                "token": tokens["refresh_token"],
                "client_id": registered["client_id"],
            },
        )
        assert status == 200
        for base in (second, first):
            status, headers, _ = call(base, "GET", "/rest/companies", headers=bearer)
            assert status == 401
            assert 'error="invalid_token"' in headers["WWW-Authenticate"]
