"""The resource side: BearerTokenAuthentication and HasScope on the demo API (RFC 6750)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import ISSUER, code_tokens, token_request
from twenty_oauth.models import AccessToken, Client

pytestmark = pytest.mark.django_db

METADATA_URL = f'resource_metadata="{ISSUER}/.well-known/oauth-protected-resource"'


def get(http, token=None, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return http.get("/rest/companies", **headers)


def test_valid_token(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    response = get(client, token)
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == ["Airbnb", "Figma", "Notion", "Qonto", "Stripe"]


def test_no_token_is_401_with_challenge(client):
    response = get(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Bearer {METADATA_URL}, DPoP algs="ES256 RS256 PS256 EdDSA"'


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."])
def test_bad_token_is_401_invalid_token(client, token):
    response = get(client, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert METADATA_URL in response["WWW-Authenticate"]


def test_other_auth_scheme_is_401(client):
    response = get(client, HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    assert response.status_code == 401


def test_token_without_scope_is_403_insufficient_scope(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    response = get(client, token)
    assert response.status_code == 403
    challenge = response["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="api"' in challenge


def test_expired_token(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    AccessToken.objects.update(expires_at=timezone.now())
    assert get(client, token).status_code == 401


def test_revoked_token(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    AccessToken.objects.update(revoked_at=timezone.now())
    assert get(client, token).status_code == 401


def test_inactive_user_or_client(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert get(client, token).status_code == 200
    Client.objects.update(is_active=False)
    assert get(client, token).status_code == 401
    Client.objects.update(is_active=True)
    assert get(client, token).status_code == 200
    # Deactivating the user ends the grant for good: reactivation does not revive the token.
    user.is_active = False
    user.save()
    assert get(client, token).status_code == 401
    user.is_active = True
    user.save()
    assert get(client, token).status_code == 401


def test_tampered_token(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    header, payload, signature = token.split(".")
    assert get(client, f"{header}.{payload}.{signature[:-4]}AAAA").status_code == 401


def test_client_credentials_token_has_no_real_user(client, service, rf):
    from rest_framework.request import Request

    from twenty_oauth.drf import BearerTokenAuthentication, ClientPrincipal

    oauth_client, secret = service
    token = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret},
    ).json()["access_token"]
    assert get(client, token).status_code == 200
    request = Request(rf.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {token}"))
    user, auth = BearerTokenAuthentication().authenticate(request)
    assert isinstance(user, ClientPrincipal)
    assert user.pk == user.id == f"client:{oauth_client.pk}"
    assert user == BearerTokenAuthentication().authenticate(request)[0]
    # Never taken for a user: a lookup by it fails loudly rather than finding anyone.
    users = get_user_model()._default_manager
    with pytest.raises(ValueError):
        users.get(pk=user.pk)
    with pytest.raises(ValueError):
        users.filter(pk=user.pk).exists()
    assert auth.user is None
    assert auth.claims["sub"] == auth.claims["client_id"] == oauth_client.client_id
    assert auth.claims["jti"] == auth.record.jti
    assert auth.client.client_id == oauth_client.client_id
    assert auth.scopes == {"api"}
    assert auth.audience == [ISSUER]


class ServiceAccount:
    is_authenticated = True

    def __init__(self, client_id):
        self.client_id = client_id


def service_account(client, token):
    return ServiceAccount(client.client_id)


def add_tenant(claims, client, user):
    return {"tenant": "acme", "iss": "https://forged.example"}


def test_client_credentials_principal_hook(client, service, rf, settings):
    from rest_framework.request import Request

    from twenty_oauth.drf import BearerTokenAuthentication

    oauth_client, secret = service
    settings.TWENTY_OAUTH = {"CLIENT_CREDENTIALS_PRINCIPAL": "tests.test_drf.service_account"}
    token = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret},
    ).json()["access_token"]
    user, _ = BearerTokenAuthentication().authenticate(
        Request(rf.get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    )
    assert isinstance(user, ServiceAccount)
    assert user.client_id == oauth_client.client_id


def test_access_token_claims_hook_adds_but_never_overrides(client, user, confidential, settings):
    import jwt

    oauth_client, secret = confidential
    settings.TWENTY_OAUTH = {"ACCESS_TOKEN_CLAIMS": "tests.test_drf.add_tenant"}
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["tenant"] == "acme"
    assert claims["iss"] == ISSUER
    assert get(client, token).status_code == 200


@pytest.mark.urls("tests.drf_views")
@pytest.mark.parametrize(
    ("field", "queries"),
    [("client_id", 1), ("client_name", 1), ("is_active", 1), ("redirect_uris", 2), ("grant_types", 2)],
)
def test_request_auth_client_reads_deferred_fields_when_used(client, user, confidential, field, queries):
    # The check reads three fields of the client; a view reading another gets it, one query later.
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    client.logout()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/token-client?field={field}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == {field: getattr(Client.objects.get(pk=oauth_client.pk), field)}
    assert len(captured) == queries
