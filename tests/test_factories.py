"""
The factories make rows the server accepts as its own: each is checked through HTTP, as a client
would use it, and none keeps a secret, code or refresh token in clear (RFC 6749 §10.3-§10.5).
"""

from __future__ import annotations

import jwt
import pytest
from django.utils import timezone

from tests.conftest import (
    REDIRECT,
    api_status,
    basic,
    code_request,
    configure,
    pkce_pair,
    refresh,
    token_request,
)
from tests.factories import (
    AccessTokenFactory,
    AuthorizationCodeFactory,
    ClientFactory,
    ClientKey,
    ConsentFactory,
    DeviceGrantFactory,
    RefreshTokenFactory,
    SigningKeyFactory,
    UserFactory,
)
from twenty_oauth.models import AccessToken, AuthorizationCode, Client, DeviceGrant, RefreshToken
from twenty_oauth.protocol import keys, opaque

pytestmark = pytest.mark.django_db


def test_a_client_from_the_factory_authenticates_with_its_secret(client):
    oauth_client, secret = ClientFactory.with_secret(
        grant_types=["client_credentials"], token_endpoint_auth_method="client_secret_basic"
    )
    data = "grant_type=client_credentials&scope=api"
    form = "application/x-www-form-urlencoded"
    response = client.post(
        "/oauth/token", data, content_type=form, HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret)
    )
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert api_status(client, response.json()["access_token"]) == 200
    wrong = client.post(
        "/oauth/token",
        data,
        content_type=form,
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, "x" + secret),
    )
    assert wrong.status_code == 401
    assert secret not in str(Client.objects.get().__dict__)


def test_a_client_from_the_factory_manages_itself_with_its_registration_token(client):
    oauth_client, token = ClientFactory.with_registration_token()
    assert oauth_client.source == Client.Source.DYNAMIC
    assert oauth_client.registration_access_token_digest == opaque.digest(token)
    read = configure(client, "get", f"/oauth/register/{oauth_client.client_id}", token)
    assert read.status_code == 200, read.content
    assert read.json()["client_id"] == oauth_client.client_id
    assert "registration_access_token" not in read.json()
    assert token not in str(Client.objects.get().__dict__)


def test_a_private_key_jwt_client_from_the_factory_authenticates_with_its_key(client):
    key = ClientKey("RS256")
    oauth_client = ClientFactory(private_key_jwt=True, jwks=key.jwks(), grant_types=["client_credentials"])
    assert oauth_client.client_secret_digest == "" and not oauth_client.uses_secret
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": key.assertion(oauth_client.client_id),
    }
    response = token_request(client, data)
    assert response.status_code == 200, response.content
    assert api_status(client, response.json()["access_token"]) == 200
    other = ClientKey("RS256", kid=key.kid)
    refused = token_request(client, {**data, "client_assertion": other.assertion(oauth_client.client_id)})
    assert refused.status_code == 401


def test_a_code_from_the_factory_redeems_once_with_its_verifier(client):
    oauth_client, secret = ClientFactory.with_secret()
    verifier, _ = pkce_pair()
    row, code = AuthorizationCodeFactory.with_code(client=oauth_client, code_verifier=verifier)
    assert code not in str(AuthorizationCode.objects.get().__dict__)
    assert row.redirect_uri == REDIRECT

    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 200, response.content
    body = response.json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["sub"] == str(row.user.pk)
    assert api_status(client, body["access_token"]) == 200
    replay = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_a_public_clients_code_from_the_factory_needs_no_secret(client):
    oauth_client = ClientFactory(public=True)
    assert oauth_client.client_secret_digest == ""
    verifier, _ = pkce_pair()
    _, code = AuthorizationCodeFactory.with_code(client=oauth_client, code_verifier=verifier)
    response = token_request(client, code_request(oauth_client, code, verifier))
    assert response.status_code == 200, response.content
    assert "refresh_token" in response.json()


def test_an_expired_code_from_the_factory_is_refused(client):
    oauth_client, secret = ClientFactory.with_secret()
    verifier, _ = pkce_pair()
    _, code = AuthorizationCodeFactory.with_code(
        client=oauth_client, code_verifier=verifier, expires_at=timezone.now()
    )
    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "The authorization code has expired.",
    }


def test_a_refresh_token_from_the_factory_rotates(client):
    oauth_client, secret = ClientFactory.with_secret()
    row, token = RefreshTokenFactory.with_token(family__client=oauth_client, family__scope="api profile")
    assert token not in str(RefreshToken.objects.get().__dict__)
    assert row.scope == "api profile"

    response = refresh(client, oauth_client, secret, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "api profile"
    assert body["refresh_token"] != token
    spent = refresh(client, oauth_client, secret, token)
    assert spent.status_code == 400
    assert spent.json()["error"] == "invalid_grant"
    assert api_status(client, body["access_token"]) == 401  # the reuse ended the family


def test_an_access_token_from_the_factory_is_accepted_until_its_record_is_revoked(client):
    record, token = AccessTokenFactory.with_jwt()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["jti"] == record.jti
    assert claims["sub"] == str(record.user.pk)
    assert claims["client_id"] == record.client.client_id
    assert api_status(client, token) == 200
    AccessToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
    assert api_status(client, token) == 401


def test_a_consent_from_the_factory_is_listed_for_its_user_only(client):
    consent = ConsentFactory(client__client_name="Granted App", scope="api profile")
    client.force_login(consent.user)
    page = client.get("/oauth/apps")
    assert page.status_code == 200
    assert "Granted App" in page.content.decode()
    client.force_login(UserFactory())
    assert "Granted App" not in client.get("/oauth/apps").content.decode()


def test_a_signing_key_from_the_factory_is_published_and_signs(client):
    published_first = client.get("/oauth/jwks").json()["keys"]
    waiting = SigningKeyFactory(activated_at=None)
    signing = SigningKeyFactory()
    keys.clear_cache()
    response = client.get("/oauth/jwks")
    assert response.status_code == 200
    kids = {key["kid"] for key in response.json()["keys"]}
    assert kids == {published_first[0]["kid"], waiting.kid, signing.kid}
    _, token = AccessTokenFactory.with_jwt()
    assert jwt.get_unverified_header(token)["kid"] == signing.kid
    assert api_status(client, token) == 200


DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


def test_a_device_grant_from_the_factory_is_pending_then_redeems_once_approved(client):
    oauth_client, secret = ClientFactory.with_secret(
        grant_types=[DEVICE_CODE, "refresh_token"], redirect_uris=[], response_types=[]
    )
    pending, device_code, user_code = DeviceGrantFactory.with_codes(client=oauth_client)
    stored = str(DeviceGrant.objects.get().__dict__)
    assert device_code not in stored and user_code not in stored
    assert len(user_code) == 8 and pending.user is None
    poll = {"grant_type": DEVICE_CODE, "device_code": device_code, "client_id": oauth_client.client_id}
    response = token_request(client, {**poll, "client_secret": secret})
    assert response.status_code == 400
    assert response.json()["error"] == "authorization_pending"

    approved, device_code, _ = DeviceGrantFactory.with_codes(client=oauth_client, approved=True, scope="api")
    poll["device_code"] = device_code
    response = token_request(client, {**poll, "client_secret": secret})
    assert response.status_code == 200, response.content
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(approved.user.pk)
    assert "refresh_token" in body
    again = token_request(client, {**poll, "client_secret": secret})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_a_device_grant_from_the_factory_is_found_by_its_user_code(client, user):
    grant, _, user_code = DeviceGrantFactory.with_codes(client__client_name="Factory TV")
    client.force_login(user)
    page = client.post("/oauth/device", {"user_code": user_code.lower()})
    assert page.status_code == 200
    assert "Factory TV wants to access your account from a device" in page.content.decode()
    denied = DeviceGrantFactory(denied=True)
    assert denied.denied_at is not None and denied.user is not None and grant.approved_at is None
