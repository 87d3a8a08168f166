"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

import pytest

from tests.conftest import ISSUER, code_tokens, query_of
from tests.factories import UserFactory, make_client

pytestmark = pytest.mark.django_db

AFTER = "https://app.example.com/signed-out"


@pytest.fixture
def rp(db):
    return make_client(client_name="Relying Party", post_logout_redirect_uris=[AFTER])


def signed_in(http) -> bool:
    return "_auth_user_id" in http.session


def test_discovery_advertises_the_end_session_endpoint_2_1(client):
    body = client.get("/.well-known/openid-configuration").json()
    assert body["end_session_endpoint"] == f"{ISSUER}/oauth/logout"


def test_hint_for_the_person_signed_in_signs_out_and_redirects_with_state_2(client, user, rp):
    oauth_client, secret = rp
    hint = code_tokens(client, user, oauth_client, secret, scope="openid")["id_token"]
    assert signed_in(client)
    response = client.get(
        "/oauth/logout", {"id_token_hint": hint, "post_logout_redirect_uri": AFTER, "state": "st8"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{AFTER}?state=st8"
    assert not signed_in(client)


def test_without_a_hint_the_person_confirms_on_a_page_3(client, user, rp):
    oauth_client, _ = rp
    client.force_login(user)
    params = {"client_id": oauth_client.client_id, "post_logout_redirect_uri": AFTER, "state": "s"}
    page = client.get("/oauth/logout", params)
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert "no-store" in page["Cache-Control"]
    assert "Relying Party asks you to sign out" in page.content.decode()
    assert signed_in(client)
    response = client.post("/oauth/logout", {"request": page.context["signed_request"], "confirm": "1"})
    assert response.status_code == 302
    assert query_of(response["Location"]) == {"state": "s"}
    assert response["Location"].startswith(AFTER + "?")
    assert not signed_in(client)


def test_staying_signed_in_signs_no_one_out(client, user, rp):
    oauth_client, _ = rp
    client.force_login(user)
    page = client.get(
        "/oauth/logout", {"client_id": oauth_client.client_id, "post_logout_redirect_uri": AFTER}
    )
    response = client.post("/oauth/logout", {"request": page.context["signed_request"], "stay": "1"})
    assert response.status_code == 200
    assert "You are still signed in" in response.content.decode()
    assert signed_in(client)


def test_a_changed_form_signs_no_one_out(client, user, rp):
    client.force_login(user)
    response = client.post("/oauth/logout", {"request": "forged", "confirm": "1"})
    assert response.status_code == 400
    assert signed_in(client)


def test_hint_for_someone_else_asks_for_confirmation(client, user, rp):
    oauth_client, secret = rp
    other = UserFactory()
    hint = code_tokens(client, other, oauth_client, secret, scope="openid")["id_token"]
    client.force_login(user)
    page = client.get("/oauth/logout", {"id_token_hint": hint})
    assert page.status_code == 200
    assert page.context["signed_request"]
    assert signed_in(client)


def test_without_a_redirect_uri_a_page_says_signed_out(client, user, rp):
    oauth_client, secret = rp
    hint = code_tokens(client, user, oauth_client, secret, scope="openid")["id_token"]
    response = client.get("/oauth/logout", {"id_token_hint": hint})
    assert response.status_code == 200
    assert "You are signed out" in response.content.decode()
    assert not signed_in(client)


def test_signed_out_visitor_is_sent_to_the_registered_uri(client, rp):
    oauth_client, _ = rp
    response = client.get(
        "/oauth/logout",
        {"client_id": oauth_client.client_id, "post_logout_redirect_uri": AFTER, "state": "x"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{AFTER}?state=x"


def test_a_hint_not_from_this_server_is_refused_on_a_page(client, user, rp):
    client.force_login(user)
    response = client.get("/oauth/logout", {"id_token_hint": "a.b.c", "post_logout_redirect_uri": AFTER})
    assert response.status_code == 400
    assert "Location" not in response
    assert signed_in(client)


def test_client_id_other_than_the_hints_audience_is_refused(client, user, rp):
    oauth_client, secret = rp
    other, _ = make_client(client_name="Other", post_logout_redirect_uris=[AFTER])
    hint = code_tokens(client, user, oauth_client, secret, scope="openid")["id_token"]
    response = client.get(
        "/oauth/logout",
        {"id_token_hint": hint, "client_id": other.client_id, "post_logout_redirect_uri": AFTER},
    )
    assert response.status_code == 400
    assert signed_in(client)
