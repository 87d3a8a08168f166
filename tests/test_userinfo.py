"""GET /oauth/userinfo: the profile scope."""

import pytest
from django.test import override_settings

from tests.conftest import ISSUER, code_tokens, token_request

pytestmark = pytest.mark.django_db


def userinfo(http, token):
    return http.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_profile_claims(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    response = userinfo(client, token)
    assert response.status_code == 200
    assert response.json() == {
        "sub": str(user.pk),
        "name": "Ada Lovelace",
        "preferred_username": user.username,
        "email": user.email,
    }


def test_without_profile_scope_is_403(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="api")["access_token"]
    response = userinfo(client, token)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="profile"' in response["WWW-Authenticate"]


def test_client_credentials_token_has_no_profile(client, service):
    oauth_client, secret = service
    token = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret},
    ).json()["access_token"]
    assert userinfo(client, token).status_code == 403


def test_missing_or_bad_token_is_401(client):
    response = client.get("/oauth/userinfo")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer resource_metadata=")
    bad = userinfo(client, "nope")
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    "resource, status",
    [
        (f"{ISSUER}/mcp", 401),
        (f"{ISSUER}/rest", 401),
        (f"{ISSUER}/oauth/userinfo", 200),
        (ISSUER, 200),
    ],
)
def test_rfc8707_2_token_for_another_resource_is_refused(client, user, confidential, resource, status):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="profile", extra={"resource": resource})
    response = userinfo(client, body["access_token"])
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_default_resource_tokens_are_accepted(client, user, confidential, settings):
    settings.TWENTY_OAUTH = {"DEFAULT_RESOURCE": f"{ISSUER}/rest"}
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    assert userinfo(client, token).status_code == 200


def add_department(user, claims):
    return {**claims, "department": "engineering", "email": claims["email"].upper()}


def test_claims_hook(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    with override_settings(TWENTY_OAUTH={"USERINFO_CLAIMS": "tests.test_userinfo.add_department"}):
        body = userinfo(client, token).json()
    assert body["department"] == "engineering"
    assert body["email"] == user.email.upper()


def test_advertised(client):
    assert (
        client.get("/.well-known/oauth-authorization-server").json()["userinfo_endpoint"]
        == f"{ISSUER}/oauth/userinfo"
    )
