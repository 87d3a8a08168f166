"""
``request.user`` and ``request.auth`` in a host's DRF views: a client's own token gets a
principal of its own, so DRF's throttles keep one bucket per client (RFC 6749 §4.4 clients are
not users), and one view may take a browser's session and tokens alike (RFC 6750 §2.1).
"""

import pytest
from django.test import Client as HttpClient

from tests.conftest import ISSUER, basic, code_tokens, token_request
from tests.drf_views import OnePerMinute, ReportsThrottle
from tests.factories import UserFactory, make_client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.drf_views")]


def service_token(http, name):
    """A client allowed client_credentials, and an access token it obtained for itself."""
    oauth_client, secret = make_client(
        client_name=name,
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
    )
    response = token_request(
        http,
        {"grant_type": "client_credentials", "scope": "api"},
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert response.status_code == 200
    return oauth_client, response.json()["access_token"]


def call(http, path, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return http.get(path, **headers)


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, moved by hand."""
    now = [1_000_000.0]
    for throttle in (OnePerMinute, ReportsThrottle):
        monkeypatch.setattr(throttle, "timer", staticmethod(lambda: now[0]))
    return now


@pytest.mark.parametrize("path", ["/throttled", "/scoped"])
def test_each_client_has_a_throttle_bucket_of_its_own(client, clock, path):
    first, first_token = service_token(client, "First")
    second, second_token = service_token(client, "Second")

    response = call(client, path, first_token)
    assert response.status_code == 200
    assert response.json() == {"pk": f"client:{first.pk}", "client": True}
    # The first client has used its one call a minute; the second has not been held back.
    response = call(client, path, second_token)
    assert response.status_code == 200
    assert response.json() == {"pk": f"client:{second.pk}", "client": True}

    refused = call(client, path, first_token)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "throttled" in refused.json()["detail"]
    assert call(client, path, second_token).status_code == 429

    clock[0] += 60
    assert call(client, path, first_token).status_code == 200


def test_a_client_never_shares_a_bucket_with_the_user_of_the_same_number(client, clock):
    service, token = service_token(client, "Service")
    user = UserFactory(id=service.pk)
    browser = HttpClient()
    browser.force_login(user)

    response = call(client, "/throttled", token)
    assert response.status_code == 200
    assert response.json() == {"pk": f"client:{service.pk}", "client": True}
    response = call(browser, "/throttled")
    assert response.status_code == 200
    assert response.json() == {"pk": str(user.pk), "client": False}
    # The user's bucket is the user's, however they authenticate: their own token shares it.
    oauth_client, secret = make_client()
    user_token = code_tokens(browser, user, oauth_client, secret)["access_token"]
    assert call(browser, "/throttled", user_token).status_code == 429
    assert call(client, "/throttled", token).status_code == 429


def test_a_view_takes_a_session_or_a_token(client, user, confidential):
    response = call(client, "/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer resource_metadata="')

    client.force_login(user)
    response = call(client, "/me")
    assert response.status_code == 200
    assert response.json() == {
        "via": "session",
        "user": user.username,
        "pk": str(user.pk),
        "client": False,
    }

    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    response = call(HttpClient(), "/me", token)
    assert response.status_code == 200
    assert response.json() == {
        "via": "token",
        "sub": str(user.pk),
        "client_id": oauth_client.client_id,
        "scope": "api",
        "aud": ISSUER,
        "has_exp_and_jti": True,
        "pk": str(user.pk),
        "client": False,
    }


def test_a_token_on_that_view_still_needs_its_scope(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    response = call(HttpClient(), "/me", token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert response.json() == {"detail": "This request needs the scope: api."}


def test_a_clients_own_token_on_that_view(client):
    service, token = service_token(client, "Service")
    response = call(client, "/me", token)
    assert response.status_code == 200
    assert response.json() == {
        "via": "token",
        "sub": service.client_id,
        "client_id": service.client_id,
        "scope": "api",
        "aud": ISSUER,
        "has_exp_and_jti": True,
        "pk": f"client:{service.pk}",
        "client": True,
    }
