"""
"Not you?" on the consent page: a CSRF-protected POST signs the user out, then ``LOGIN_URL``
brings whoever signs in next back to the same authorization request (RFC 6749 §4.1.1), even
with a login view that sends a signed-in visitor straight on (``redirect_authenticated_user``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client as HttpClient

from tests.conftest import REDIRECT, pkce_pair, query_of
from tests.factories import UserFactory
from twenty_oauth.models import AuthorizationCode

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_signed_in_redirect")]

SWITCH = "/oauth/switch-user"


@pytest.fixture(autouse=True)
def _login_url_is_a_url_name(settings):
    settings.LOGIN_URL = "signin"  # resolved as Django resolves it: a URL name, here /signin


@pytest.fixture
def browser() -> HttpClient:
    """A client that enforces CSRF as a browser's requests meet it."""
    return HttpClient(enforce_csrf_checks=True)


def consent_url(oauth_client) -> str:
    _, challenge = pkce_pair()
    params = {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "api",
        "state": "s&t=1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return "/oauth/authorize?" + urlencode(params)


def switch_form(page) -> tuple[str, dict[str, str]]:
    """The "Not you?" form as a browser reads it from the page: its action and its fields."""
    body = page.content.decode()
    form = r'<form method="post" action="([^"]+)">((?:(?!</form>).)*Not you\?.*?)</form>'
    match = re.search(form, body, re.S)
    assert match, body
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', match.group(2)))
    return html.unescape(match.group(1)), {name: html.unescape(value) for name, value in fields.items()}


def assert_sent_to_sign_in(response, url: str) -> None:
    """A 302 to ``LOGIN_URL`` whose ``next`` is exactly the consent page's URL."""
    assert response.status_code == 302, response.content
    assert urlsplit(response["Location"]).path == "/signin"
    assert query_of(response["Location"]) == {"next": url}


def signed_in_as(http, url: str):
    page = http.get(url)
    assert page.status_code == 200, page.content
    return page.context["user"]


def test_not_you_signs_out_and_the_next_user_comes_back_to_the_consent_page(browser, user, confidential):
    oauth_client, _ = confidential
    other = UserFactory(username="grace")
    url = consent_url(oauth_client)
    browser.force_login(user)

    # The login view sends a signed-in visitor on: a link to it alone would change nobody.
    assert browser.get("/signin?" + urlencode({"next": url}))["Location"] == url

    page = browser.get(url)
    assert page.status_code == 200
    action, fields = switch_form(page)
    assert action == SWITCH
    assert fields["next"] == url
    response = browser.post(action, fields)
    assert_sent_to_sign_in(response, url)
    assert "no-cache" in response["Cache-Control"]
    assert "_auth_user_id" not in browser.session
    assert_sent_to_sign_in(browser.get(url), url)  # the consent page sees no one signed in

    login_page = browser.get(response["Location"])
    assert login_page.status_code == 200  # anonymous now: the form, not a redirect
    assert f'name="next" value="{html.escape(url)}"' in login_page.content.decode()
    signed_in = browser.post(
        response["Location"],
        {
            "username": "grace",
            "password": "pw",
            "next": url,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == url

    page = browser.get(url)
    assert page.status_code == 200
    assert page.context["user"] == other
    assert "Signed in as <strong>grace</strong>" in page.content.decode()
    decision = browser.post(
        "/oauth/authorize",
        {
            "request": page.context["signed_request"],
            "allow": "1",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
    )
    assert decision.status_code == 302
    assert query_of(decision["Location"])["state"] == "s&t=1"
    assert AuthorizationCode.objects.get().user == other


def test_signing_out_needs_the_csrf_token(browser, user, confidential):
    oauth_client, _ = confidential
    url = consent_url(oauth_client)
    browser.force_login(user)
    _, fields = switch_form(browser.get(url))
    forged = browser.post(SWITCH, {"next": fields["next"]})
    assert forged.status_code == 403
    assert "Location" not in forged
    assert signed_in_as(browser, url) == user


def test_a_get_never_signs_out(client, user, confidential):
    oauth_client, _ = confidential
    url = consent_url(oauth_client)
    client.force_login(user)
    response = client.get(SWITCH, {"next": url})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "Location" not in response
    assert signed_in_as(client, url) == user


def test_an_anonymous_visitor_is_sent_to_sign_in(client, confidential):
    oauth_client, _ = confidential
    url = consent_url(oauth_client)
    assert_sent_to_sign_in(client.post(SWITCH, {"next": url}), url)
