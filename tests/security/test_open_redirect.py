"""
The server is never an open redirector (RFC 9700 §4.11.2, RFC 6749 §10.15): a request whose
client or redirect URI cannot be trusted is answered with a page, the login form's ``next`` only
leads back to this site, "Not you?" leads back only to the consent page, and no redirect uses
307 (RFC 9700 §4.12).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import REDIRECT, authorize, pkce_pair, query_of
from tests.security.conftest import assert_error_page, row_counts
from twenty_oauth.models import AuthorizationCode

pytestmark = pytest.mark.django_db

EVIL = "https://evil.example/steal"


def url(**params) -> str:
    return "/oauth/authorize?" + urlencode(params)


def test_rfc9700_4_11_2_unknown_client_never_redirects(client, user):
    client.force_login(user)
    for client_id in ["unknown", "", "x" * 500]:
        params = {"client_id": client_id, "response_type": "code", "redirect_uri": EVIL, "state": "s"}
        response = client.get(url(**params))
        assert_error_page(response)
        assert EVIL not in response.content.decode()


def test_rfc9700_4_11_2_unregistered_redirect_uri_never_redirects_even_with_other_errors(
    client, user, confidential
):
    """Other errors are redirected only once the URI is trusted; before that, nothing is."""
    oauth_client, _ = confidential
    client.force_login(user)
    for extra in [
        {},
        {"response_type": "token"},
        {"scope": "nonexistent"},
        {"code_challenge_method": "plain", "code_challenge": "x"},
    ]:
        params = {"client_id": oauth_client.client_id, "response_type": "code", "redirect_uri": EVIL, **extra}
        assert_error_page(client.get(url(**params)))


def test_rfc9700_4_11_2_inactive_client_never_redirects(client, user, confidential):
    oauth_client, _ = confidential
    oauth_client.is_active = False
    oauth_client.save()
    client.force_login(user)
    params = {"client_id": oauth_client.client_id, "response_type": "code", "redirect_uri": REDIRECT}
    assert_error_page(client.get(url(**params)))


def test_rfc6749_4_1_2_1_error_redirect_goes_only_to_the_registered_uri(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    params = {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "admin",
        "state": "s",
    }
    response = client.get(url(**params))
    assert response.status_code == 302
    location = response["Location"]
    assert location.split("?", 1)[0] == REDIRECT
    assert query_of(location)["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
    ],
)
def test_rfc6749_10_15_login_next_only_leads_back_to_this_site(client, user, next_url):
    response = client.post(
        "/accounts/login/?" + urlencode({"next": next_url}),
        {"username": user.username, "password": "pw", "next": next_url},
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc in ("", "testserver"), response["Location"]
    assert location.scheme in ("", "http")
    assert response["Location"] == "/"


def test_rfc6749_10_15_login_redirect_from_authorize_carries_a_relative_next(client, confidential):
    oauth_client, _ = confidential
    params = {"client_id": oauth_client.client_id, "response_type": "code", "redirect_uri": REDIRECT}
    response = client.get(url(**params), HTTP_HOST="testserver")
    assert response.status_code == 302
    next_url = query_of(response["Location"])["next"]
    assert next_url.startswith("/oauth/authorize?")
    assert not next_url.startswith("//")


@pytest.mark.parametrize(
    "next_url",
    [
        EVIL,
        "//evil.example/oauth/authorize?client_id=x",
        "/\\evil.example/oauth/authorize?client_id=x",
        "https://testserver/oauth/authorize?client_id=x",
        "/accounts/login/?next=https://evil.example/",
        "/oauth/apps?client_id=x",
        "/oauth/authorize",
        "/oauth/authorize/../../admin/?client_id=x",
        "/oauth/authorize?client_id=x#https://evil.example/",
        "/oauth/authorize?client_id=x\r\nLocation: https://evil.example/",
        "",
    ],
)
def test_rfc9700_4_11_2_not_you_leads_back_only_to_the_consent_page(client, user, next_url):
    """A forged "Not you?" form is refused whole: nobody is signed out, nothing is redirected."""
    client.force_login(user)
    response = client.post("/oauth/switch-user", {"next": next_url})
    assert_error_page(response)
    assert "evil.example" not in response.content.decode()
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    "change",
    [
        {"response_type": "token"},
        {"scope": "admin"},
        {"code_challenge": None},
        {"resource": "https://elsewhere.example/api"},
    ],
)
def test_rfc9700_4_11_2_errors_reach_the_client_only_after_sign_in(client, user, change):
    """A self-registered client cannot use an erroneous request to bounce an anonymous visitor."""
    registered = client.post(
        "/oauth/register",
        f'{{"redirect_uris": ["{EVIL}"], "token_endpoint_auth_method": "none"}}',
        content_type="application/json",
    ).json()
    params = {
        "client_id": registered["client_id"],
        "response_type": "code",
        "redirect_uri": EVIL,
        "state": "s",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        **change,
    }
    query = url(**{k: v for k, v in params.items() if v is not None})
    response = client.get(query)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?")
    assert query_of(response["Location"])["next"] == query
    # Signed in, the user is sent back to the client with the error, as RFC 6749 §4.1.2.1 asks.
    client.force_login(user)
    response = client.get(query)
    assert response.status_code == 302
    assert response["Location"].startswith(EVIL + "?")
    assert "error" in query_of(response["Location"])


def test_rfc9700_4_12_redirects_are_302_or_303_never_307(client, user, confidential):
    oauth_client, _ = confidential
    _, challenge = pkce_pair()
    anonymous = client.get(url(client_id=oauth_client.client_id, response_type="code", redirect_uri=REDIRECT))
    client.force_login(user)
    error = client.get(
        url(client_id=oauth_client.client_id, response_type="code", redirect_uri=REDIRECT, scope="bad")
    )
    allowed = authorize(client, user, oauth_client, challenge=challenge)
    denied = authorize(client, user, oauth_client, approve=False)
    for response in (anonymous, error, allowed, denied):
        assert response.status_code in (302, 303), response.status_code
    assert "code" in query_of(allowed["Location"])
    assert query_of(denied["Location"])["error"] == "access_denied"


def test_rfc6749_4_1_2_1_denied_consent_issues_no_code(client, user, confidential):
    oauth_client, _ = confidential
    before = row_counts()
    response = authorize(client, user, oauth_client, approve=False, state="st")
    assert response["Location"].startswith(REDIRECT + "?")
    assert "code" not in query_of(response["Location"])
    assert AuthorizationCode.objects.count() == before["AuthorizationCode"]
