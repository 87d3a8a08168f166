"""
POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662); who may introspect which
token is in ``security/test_introspection_permission.py``.
"""

import pytest

from tests.conftest import ISSUER, basic, code_tokens, form, refresh
from tests.conftest import api_status as api

pytestmark = pytest.mark.django_db


def revoke(http, oauth_client, secret, token, **extra):
    data = {"token": token, "client_id": oauth_client.client_id, **extra}
    if secret:
        data["client_secret"] = secret
    return http.post("/oauth/revoke", form(data), content_type="application/x-www-form-urlencoded")


def introspect(http, oauth_client, secret, token):
    return http.post(
        "/oauth/introspect",
        form({"token": token}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )


def test_revoking_an_access_token_stops_it_at_once(client, user, confidential):
    oauth_client, secret = confidential
    tokens = code_tokens(client, user, oauth_client, secret)
    assert api(client, tokens["access_token"]) == 200
    response = revoke(client, oauth_client, secret, tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert api(client, tokens["access_token"]) == 401
    # The refresh token lives on: only the access token was revoked.
    assert refresh(client, oauth_client, secret, tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_ends_the_family(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret)
    second = refresh(client, oauth_client, secret, first["refresh_token"]).json()
    assert revoke(client, oauth_client, secret, second["refresh_token"]).status_code == 200
    assert api(client, first["access_token"]) == 401
    assert api(client, second["access_token"]) == 401
    assert refresh(client, oauth_client, secret, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_wrong_hint_still_revokes(client, user, confidential):
    oauth_client, secret = confidential
    tokens = code_tokens(client, user, oauth_client, secret)
    assert (
        revoke(
            client, oauth_client, secret, tokens["refresh_token"], token_type_hint="access_token"
        ).status_code
        == 200
    )
    assert refresh(client, oauth_client, secret, tokens["refresh_token"]).status_code == 400


def test_unknown_token_is_200(client, confidential):
    oauth_client, secret = confidential
    response = revoke(client, oauth_client, secret, "not-a-token")
    assert response.status_code == 200
    assert response.json() == {}


def test_another_clients_token_is_untouched(client, user, confidential):
    from tests.factories import make_client

    oauth_client, secret = confidential
    other, other_secret = make_client(client_name="Other")
    tokens = code_tokens(client, user, oauth_client, secret)
    assert revoke(client, other, other_secret, tokens["access_token"]).status_code == 200
    assert revoke(client, other, other_secret, tokens["refresh_token"]).status_code == 200
    assert api(client, tokens["access_token"]) == 200
    assert refresh(client, oauth_client, secret, tokens["refresh_token"]).status_code == 200


def test_revocation_requires_client_authentication(client, user, confidential):
    oauth_client, secret = confidential
    tokens = code_tokens(client, user, oauth_client, secret)
    response = revoke(client, oauth_client, "wrong", tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert api(client, tokens["access_token"]) == 200


def test_public_client_revokes_its_own_token(client, user, public):
    tokens = code_tokens(client, user, public)
    assert revoke(client, public, None, tokens["refresh_token"]).status_code == 200
    assert api(client, tokens["access_token"]) == 401


def test_missing_token_parameter(client, confidential):
    oauth_client, secret = confidential
    response = client.post(
        "/oauth/revoke",
        form({"client_id": oauth_client.client_id, "client_secret": secret}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# -- introspection --------------------------------------------------------------------------


def test_introspect_live_access_token(client, user, confidential):
    oauth_client, secret = confidential
    tokens = code_tokens(client, user, oauth_client, secret, scope="api profile")
    response = introspect(client, oauth_client, secret, tokens["access_token"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "api profile"
    assert body["client_id"] == oauth_client.client_id
    assert body["sub"] == str(user.pk)
    assert body["aud"] == ISSUER
    assert body["iss"] == ISSUER
    assert body["token_type"] == "Bearer"
    assert body["exp"] - body["iat"] == 3600


def test_introspect_refresh_token(client, user, confidential):
    oauth_client, secret = confidential
    tokens = code_tokens(client, user, oauth_client, secret)
    body = introspect(client, oauth_client, secret, tokens["refresh_token"]).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == oauth_client.client_id


@pytest.mark.parametrize("kind", ["revoked", "garbage", "spent"])
def test_introspect_inactive(client, user, confidential, kind):
    oauth_client, secret = confidential
    tokens = code_tokens(client, user, oauth_client, secret)
    value = tokens["access_token"]
    if kind == "revoked":
        revoke(client, oauth_client, secret, value)
    elif kind == "garbage":
        value = "garbage"
    else:
        refresh(client, oauth_client, secret, tokens["refresh_token"])
        value = tokens["refresh_token"]
    assert introspect(client, oauth_client, secret, value).json() == {"active": False}


def test_introspection_needs_a_confidential_client(client, user, public):
    tokens = code_tokens(client, user, public)
    response = client.post(
        "/oauth/introspect",
        form({"token": tokens["access_token"], "client_id": public.client_id}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_metadata_advertises_both(client):
    body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["revocation_endpoint"].endswith("/oauth/revoke")
    assert body["introspection_endpoint"].endswith("/oauth/introspect")
    assert "client_secret_basic" in body["introspection_endpoint_auth_methods_supported"]
