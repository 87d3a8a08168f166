"""GET/POST /oauth/authorize: the authorization endpoint and consent page (RFC 6749 §4.1)."""

from urllib.parse import urlencode

import pytest

from tests.conftest import ISSUER, REDIRECT, authorize, pkce_pair, query_of
from tests.factories import make_client
from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import AuthorizationCode, Consent

pytestmark = pytest.mark.django_db


def url(**params):
    return "/oauth/authorize?" + urlencode(params)


def base_params(oauth_client, **extra):
    params = {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "s1",
    }
    params.update(extra)
    return params


def test_anonymous_user_goes_through_login_and_back(client, confidential):
    oauth_client, _ = confidential
    target = url(**base_params(oauth_client))
    response = client.get(target)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert query_of(response["Location"])["next"] == target


def test_consent_page_shows_client_scopes_and_destination(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get(url(**base_params(oauth_client, scope="api profile")))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Test App" in html
    for description in oauth_settings.SCOPES.values():
        assert description in html
    assert "app.example.com" in html
    assert user.username in html
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    # Not no-referrer: browsers would then send Origin: null with the form, failing CSRF.
    assert response["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in html
    assert "no-store" in response["Cache-Control"]


def test_approve_redirects_with_code_state_and_iss(client, user, confidential):
    oauth_client, _ = confidential
    response = authorize(client, user, oauth_client, state="abc 123")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == "abc 123"
    assert params["iss"] == ISSUER
    assert len(params["code"]) >= 43
    code = AuthorizationCode.objects.get()
    assert code.scope == "api"  # the contract's default scope
    assert code.user == user
    assert Consent.objects.get(user=user, client=oauth_client).scope == "api"


def test_deny_redirects_with_access_denied(client, user, confidential):
    oauth_client, _ = confidential
    response = authorize(client, user, oauth_client, approve=False)
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params == {
        "error": "access_denied",
        "error_description": "The user denied the request.",
        "state": "xyz",
        "iss": ISSUER,
    }
    assert not AuthorizationCode.objects.exists()


def test_redirect_uri_with_query_keeps_it(client, user):
    oauth_client, _ = make_client(redirect_uris=["https://app.example.com/cb?tenant=7"])
    response = authorize(client, user, oauth_client, redirect_uri="https://app.example.com/cb?tenant=7")
    assert response["Location"].startswith("https://app.example.com/cb?tenant=7&")
    assert query_of(response["Location"])["tenant"] == "7"


def test_single_registered_redirect_uri_may_be_omitted(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    params = base_params(oauth_client)
    del params["redirect_uri"]
    page = client.get(url(**params))
    assert page.status_code == 200
    response = client.post("/oauth/authorize", {"request": page.context["signed_request"], "allow": "1"})
    assert response["Location"].startswith(REDIRECT + "?")


@pytest.mark.parametrize(
    "change, text",
    [
        ({"client_id": "unknown"}, "not registered"),
        ({"client_id": None}, "no client_id"),
        ({"redirect_uri": "https://evil.example/callback"}, "not registered"),
        ({"redirect_uri": "https://app.example.com/callback/"}, "not registered"),
    ],
)
def test_bad_client_or_redirect_uri_shows_an_error_page(client, user, confidential, change, text):
    oauth_client, _ = confidential
    client.force_login(user)
    params = {k: v for k, v in {**base_params(oauth_client), **change}.items() if v is not None}
    response = client.get(url(**params))
    assert response.status_code == 400
    assert "Location" not in response
    assert text in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"


def test_several_redirect_uris_and_none_sent_is_an_error_page(client, user):
    oauth_client, _ = make_client(redirect_uris=["https://a.example/cb", "https://b.example/cb"])
    client.force_login(user)
    response = client.get(url(client_id=oauth_client.client_id, response_type="code"))
    assert response.status_code == 400
    assert "Location" not in response


def test_inactive_client_shows_an_error_page(client, user, confidential):
    oauth_client, _ = confidential
    oauth_client.is_active = False
    oauth_client.save()
    client.force_login(user)
    response = client.get(url(**base_params(oauth_client)))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "change, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "api admin"}, "invalid_scope"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "a" * 43}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"resource": "https://other.example/api"}, "invalid_target"),
        ({"resource": "http://[::1"}, "invalid_target"),
        ({"resource": "http://testserver:99999/rest"}, "invalid_target"),
    ],
)
def test_other_errors_redirect_with_state_and_iss(client, user, confidential, change, error):
    oauth_client, _ = confidential
    client.force_login(user)
    params = {k: v for k, v in {**base_params(oauth_client), **change}.items() if v is not None}
    response = client.get(url(**params))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT + "?")
    assert params["error"] == error
    assert params["state"] == "s1"
    assert params["iss"] == ISSUER
    assert params["error_description"]


def test_public_client_must_use_pkce(client, user, public):
    client.force_login(user)
    response = client.get(url(**base_params(public)))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request"
    assert "code_challenge" in params["error_description"]


def test_public_client_with_pkce_gets_a_code(client, user, public):
    _, challenge = pkce_pair()
    response = authorize(client, user, public, challenge=challenge)
    assert "code" in query_of(response["Location"])
    assert AuthorizationCode.objects.get().code_challenge == challenge


def test_unregistered_scope_for_client_is_invalid_scope(client, user):
    oauth_client, _ = make_client(scope="api")
    client.force_login(user)
    response = client.get(url(**base_params(oauth_client, scope="profile")))
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_tampered_consent_form_is_refused(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    page = client.get(url(**base_params(oauth_client)))
    signed = page.context["signed_request"]
    response = client.post("/oauth/authorize", {"request": signed[:-2] + "xx", "allow": "1"})
    assert response.status_code == 400
    assert "Location" not in response
    assert not AuthorizationCode.objects.exists()


def test_consent_form_is_bound_to_the_user(client, user, confidential):
    from tests.factories import UserFactory

    oauth_client, _ = confidential
    client.force_login(user)
    signed = client.get(url(**base_params(oauth_client))).context["signed_request"]
    client.force_login(UserFactory())
    response = client.post("/oauth/authorize", {"request": signed, "allow": "1"})
    assert response.status_code == 400
    assert not AuthorizationCode.objects.exists()


def test_consent_post_needs_csrf_token(user, confidential):
    from django.test import Client as HttpClient

    oauth_client, _ = confidential
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(user)
    signed = http.get(url(**base_params(oauth_client))).context["signed_request"]
    response = http.post("/oauth/authorize", {"request": signed, "allow": "1"})
    assert response.status_code == 403
    assert not AuthorizationCode.objects.exists()


def test_client_strings_are_escaped(client, user):
    oauth_client, _ = make_client(client_name='<script>alert("x")</script>')
    client.force_login(user)
    html = client.get(url(**base_params(oauth_client, state='"><img src=x>'))).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert '"><img src=x>' not in html


def test_private_use_scheme_redirect(client, user):
    oauth_client, _ = make_client(
        redirect_uris=["com.example.app:/oauth2redirect"], token_endpoint_auth_method="none"
    )
    _, challenge = pkce_pair()
    response = authorize(
        client, user, oauth_client, challenge=challenge, redirect_uri="com.example.app:/oauth2redirect"
    )
    assert response.status_code == 302
    assert response["Location"].startswith("com.example.app:/oauth2redirect?code=")


def test_loopback_redirect_matches_any_port(client, user):
    oauth_client, _ = make_client(
        redirect_uris=["http://127.0.0.1/callback"], token_endpoint_auth_method="none"
    )
    _, challenge = pkce_pair()
    response = authorize(
        client, user, oauth_client, challenge=challenge, redirect_uri="http://127.0.0.1:53127/callback"
    )
    assert response["Location"].startswith("http://127.0.0.1:53127/callback?code=")


def test_post_without_session_shows_error_page(client, confidential):
    response = client.post("/oauth/authorize", {"request": "x", "allow": "1"})
    assert response.status_code == 400
    assert "Location" not in response
