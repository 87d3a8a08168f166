"""
Who may introspect which token (RFC 7662 §2.1 leaves it to the server, §4 asks that resource
servers be specifically authorized): every confidential client may ask about its own tokens;
only a client an administrator allowed (``introspection_allowed``) may ask about the others', and
to any other client they are ``{"active": false}`` (§2.2), answered as a token that does not
exist is.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import basic, code_tokens, form
from tests.factories import ClientFactory, make_client
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db

INACTIVE = {"active": False}


def introspect(http, client_id: str, secret: str, token: str):
    return http.post(
        "/oauth/introspect",
        form({"token": token}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def answer(http, oauth_client: Client, secret: str, token: str) -> dict:
    response = introspect(http, oauth_client.client_id, secret, token)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    return response.json()


def resource_server(**kwargs) -> tuple[Client, str]:
    kwargs.setdefault("client_name", "Reports API")
    return make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
        **kwargs,
    )


@pytest.fixture
def issued(client, user):
    """A client's user grant: the client, its secret, its access token and its refresh token."""
    app, secret = make_client(client_name="App")
    body = code_tokens(client, user, app, secret, scope="api profile")
    return app, secret, body["access_token"], body["refresh_token"]


def test_rfc7662_2_1_an_allowed_resource_server_learns_of_every_token(client, user, issued):
    app, _, access, refresh = issued
    reports, secret = resource_server(introspection_allowed=True)
    described = answer(client, reports, secret, access)
    assert described["active"] is True
    assert described["client_id"] == app.client_id
    assert described["sub"] == str(user.pk)
    assert described["scope"] == "api profile"
    assert described["token_type"] == "Bearer"
    described = answer(client, reports, secret, refresh)
    assert described["active"] is True
    assert described["client_id"] == app.client_id and described["token_type"] == "refresh_token"


def test_rfc7662_2_1_a_staff_made_client_is_not_allowed_by_default(client, issued):
    """Made in the admin or by the command is not enough: introspection is a permission of its own."""
    _, _, access, refresh = issued
    for source in (Client.Source.ADMIN, Client.Source.COMMAND):
        billing, secret = resource_server(client_name=f"Billing {source}", source=source)
        assert not billing.introspection_allowed
        for token in (access, refresh):
            # The same answer as for a token that never existed: nothing to tell them apart.
            assert answer(client, billing, secret, token) == INACTIVE
            assert answer(client, billing, secret, token + "x") == INACTIVE


def test_rfc7662_2_2_a_client_learns_of_its_own_tokens_without_permission(client, user):
    for source in (Client.Source.ADMIN, Client.Source.DYNAMIC):
        own, secret = make_client(client_name=f"Own {source}", source=source)
        body = code_tokens(client, user, own, secret)
        for token in (body["access_token"], body["refresh_token"]):
            described = answer(client, own, secret, token)
            assert described["active"] is True and described["client_id"] == own.client_id


def test_rfc7662_4_a_self_registered_client_learns_nothing_of_others(client, issued):
    """Registration is open: a client anyone registered must not read other clients' tokens."""
    _, _, access, refresh = issued
    registered = client.post(
        "/oauth/register",
        json.dumps({"grant_types": ["client_credentials"], "client_name": "Prober"}),
        content_type="application/json",
    ).json()
    prober = Client.objects.get(client_id=registered["client_id"])
    for token in (access, refresh):
        assert answer(client, prober, registered["client_secret"], token) == INACTIVE


def test_rfc7662_4_an_administrator_may_allow_a_self_registered_client(client, issued):
    app, _, access, _ = issued
    gateway, secret = make_client(
        client_name="Gateway",
        source=Client.Source.DYNAMIC,
        grant_types=["client_credentials"],
        redirect_uris=[],
        introspection_allowed=True,
    )
    described = answer(client, gateway, secret, access)
    assert described["active"] is True and described["client_id"] == app.client_id


def test_rfc7662_4_the_permission_ends_when_it_is_taken_back(client, issued):
    _, _, access, refresh = issued
    reports, secret = resource_server(introspection_allowed=True)
    assert answer(client, reports, secret, access)["active"] is True
    Client.objects.filter(pk=reports.pk).update(introspection_allowed=False)
    for token in (access, refresh):
        assert answer(client, reports, secret, token) == INACTIVE


def test_rfc7662_2_2_an_allowed_client_still_sees_revoked_tokens_as_inactive(client, issued):
    app, app_secret, access, refresh = issued
    reports, secret = resource_server(introspection_allowed=True)
    assert answer(client, reports, secret, access)["active"] is True
    # The app revokes its refresh token: the whole grant ends, its access token too (RFC 7009 §2.1).
    revoked = client.post(
        "/oauth/revoke",
        form({"token": refresh, "client_id": app.client_id, "client_secret": app_secret}),
        content_type="application/x-www-form-urlencoded",
    )
    assert revoked.status_code == 200
    for token in (access, refresh):
        assert answer(client, reports, secret, token) == INACTIVE


def test_rfc7662_2_1_a_public_client_never_introspects(client, issued):
    """Even a row marked by hand: introspection takes a confidential client."""
    _, _, access, _ = issued
    marked = ClientFactory(public=True, introspection_allowed=True)
    response = client.post(
        "/oauth/introspect",
        form({"token": access, "client_id": marked.client_id}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
