"""
Authlib's OAuth 2 client (PyPI ``authlib``, ``authlib.integrations.requests_client``) against the
live site: the server metadata checked by Authlib's own RFC 8414 and RFC 9207 validators,
registration (RFC 7591, posted as JSON: Authlib has no registration client), authorization with
PKCE approved on the consent page, token, a protected call, refresh, introspection and
revocation, for confidential clients (both secret methods) and a public one; client credentials
with a secret and with Authlib's ``PrivateKeyJWT`` (RFC 7523 §2.2); an OpenID Connect sign-in
whose ID token Authlib's ``CodeIDToken`` checks, signed with ES256 and with RS256.
"""

from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import rfc8414, rfc9207
from authlib.oauth2.rfc6749.errors import MissingCodeException
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from interop.conftest import admin_client, query_of

REDIRECT_URI = "http://127.0.0.1:18499/callback"


@pytest.fixture
def metadata(base_url) -> dict:
    response = requests.get(base_url + "/.well-known/oauth-authorization-server", timeout=10)
    assert response.status_code == 200
    data = response.json()
    rfc8414.AuthorizationServerMetadata(data).validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    assert data["issuer"] == base_url
    return data


def register(metadata: dict, auth_method: str) -> dict:
    response = requests.post(
        metadata["registration_endpoint"],
        json={
            "client_name": f"Authlib {auth_method}",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": auth_method,
            "scope": "api profile",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post", "none"])
def test_authorization_code_journey(base_url, person, metadata, auth_method):
    registered = register(metadata, auth_method)
    assert registered["token_endpoint_auth_method"] == auth_method
    assert ("client_secret" in registered) == (auth_method != "none")
    session = OAuth2Session(
        client_id=registered["client_id"],
        client_secret=registered.get("client_secret"),
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        redirect_uri=REDIRECT_URI,
        scope="api profile",
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)

    location = person.decide(url)
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["state"] == state
    assert params["iss"] == metadata["issuer"]  # RFC 9207: the client checks it before redeeming
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["scope"] == "api profile"
    assert token["refresh_token"]

    companies = session.get(base_url + "/rest/companies", timeout=10)
    assert companies.status_code == 200 and len(companies.json()) == 5
    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200 and userinfo.json()["preferred_username"] == "demo"

    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200

    if auth_method != "none":
        # RFC 7662: a confidential client may ask about its own tokens.
        introspection = session.introspect_token(
            metadata["introspection_endpoint"], token=refreshed["access_token"]
        )
        assert introspection.status_code == 200
        assert introspection.json()["active"] is True
        assert introspection.json()["client_id"] == registered["client_id"]

    revoked = session.revoke_token(
        metadata["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200
    # Revoking the refresh token ends its whole grant, the access token with it (RFC 7009 §2.1).
    after = session.get(base_url + "/rest/companies", timeout=10)
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"].startswith('Bearer resource_metadata="')
    with pytest.raises(OAuthError) as refused:
        session.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_denied_consent_comes_back_as_access_denied(person, metadata):
    registered = register(metadata, "none")
    session = OAuth2Session(
        client_id=registered["client_id"],
        token_endpoint_auth_method="none",
        redirect_uri=REDIRECT_URI,
        scope="api",
        code_challenge_method="S256",
    )
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=generate_token(64)
    )
    location = person.decide(url, allow=False)
    # Authlib reads only a code from the redirect; the error is the application's to read.
    with pytest.raises(MissingCodeException):
        parse_authorization_code_response(location, state=state)
    params = query_of(location)
    assert location.startswith(REDIRECT_URI + "?")
    assert params["error"] == "access_denied"
    assert params["state"] == state and params["iss"] == metadata["issuer"]


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials(site, base_url, metadata, auth_method):
    service = admin_client(
        site, client_name=f"Authlib service {auth_method}", grant_types=["client_credentials"],
        token_endpoint_auth_method=auth_method,
    )  # fmt: skip
    session = OAuth2Session(
        client_id=service["client_id"],
        client_secret=service["client_secret"],
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        scope="api",
    )
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert "refresh_token" not in token
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200
    revoked = session.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 401


class FiveMinuteAssertions(PrivateKeyJWT):
    """
    Authlib's ``PrivateKeyJWT``, its assertions valid for five minutes: by default Authlib signs
    them for an hour, and the server accepts at most ``CLIENT_ASSERTION_MAX_LIFETIME`` (300 s).
    """

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            expires_in=300,
        )


@pytest.mark.parametrize(
    ("alg", "key"), [("RS256", RSAKey.generate_key(2048)), ("ES256", ECKey.generate_key("P-256"))]
)
def test_client_credentials_with_private_key_jwt(site, base_url, metadata, alg, key):
    assert alg in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    service = admin_client(
        site, client_name=f"Authlib signed service {alg}", grant_types=["client_credentials"],
        token_endpoint_auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]},
    )  # fmt: skip
    assert "client_secret" not in service

    # Authlib as it comes: its assertions live an hour, longer than the server accepts.
    hour_long = OAuth2Session(
        client_id=service["client_id"],
        client_secret=key,
        token_endpoint_auth_method=PrivateKeyJWT(metadata["token_endpoint"], alg=alg),
        scope="api",
    )
    with pytest.raises(OAuthError) as refused:
        hour_long.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert refused.value.error == "invalid_client"

    # The audience Authlib writes is the token endpoint's URL, at every endpoint it calls.
    signer = FiveMinuteAssertions(metadata["token_endpoint"], alg=alg)
    session = OAuth2Session(
        client_id=service["client_id"],
        client_secret=key,
        token_endpoint_auth_method=signer,
        revocation_endpoint_auth_method=signer,
        scope="api",
    )
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert "refresh_token" not in token
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200
    # A fresh assertion (a new jti) for every request: the second token comes as easily.
    again = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert again["access_token"] != token["access_token"]

    introspection = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
    assert introspection.status_code == 200
    assert introspection.json()["active"] is True
    assert introspection.json()["client_id"] == service["client_id"]
    revoked = session.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(base_url + "/rest/companies", headers=bearer, timeout=10).status_code == 401
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200  # the second token


def openid_metadata(base_url: str) -> dict:
    """OpenID Connect Discovery §4: the configuration, with the same issuer as RFC 8414's."""
    response = requests.get(base_url + "/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    data = response.json()
    assert data["issuer"] == base_url
    assert "openid" in data["scopes_supported"]
    return data


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_openid_connect_sign_in(base_url, site, person, algorithm):
    """
    Authlib's OpenID Connect client side: the ID token checked by ``CodeIDToken`` (iss, aud, exp,
    nonce, azp, at_hash) after its signature is checked against the JWK Set; UserInfo's ``sub``
    is the ID token's; a refresh with offline_access returns a new ID token for the same sub.
    """
    if algorithm == "RS256":
        site.manage("oauth_keys", "create", "--algorithm", "RS256")
    metadata = openid_metadata(base_url)
    assert algorithm in metadata["id_token_signing_alg_values_supported"]
    response = requests.post(
        metadata["registration_endpoint"],
        json={
            "client_name": f"Authlib OpenID {algorithm}",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": algorithm,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    registered = response.json()
    session = OAuth2Session(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        redirect_uri=REDIRECT_URI,
        scope="openid profile email offline_access",
        code_challenge_method="S256",
    )
    verifier, nonce = generate_token(64), generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = person.decide(url)
    assert "Keep access while you are not using the application" in person.last_consent_page
    assert query_of(location)["state"] == state
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )

    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    decoded = joserfc_jwt.decode(token["id_token"], keys, algorithms=[algorithm])
    assert decoded.header["alg"] == algorithm
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"essential": True, "value": metadata["issuer"]}},
        params={"nonce": nonce, "client_id": registered["client_id"], "access_token": token["access_token"]},
    )
    claims.validate()
    assert claims["aud"] == registered["client_id"]
    assert claims["preferred_username"] == "demo"

    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]

    refreshed = session.refresh_token(metadata["token_endpoint"])
    again = joserfc_jwt.decode(refreshed["id_token"], keys, algorithms=[algorithm])
    assert again.claims["sub"] == claims["sub"]
    assert again.claims["auth_time"] == claims["auth_time"]
