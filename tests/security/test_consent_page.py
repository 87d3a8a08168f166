"""
The consent page: it cannot be framed (RFC 9700 §4.16), leaks no Referer to other sites
(RFC 9700 §4.2.4), takes the user's decision only as a CSRF-protected POST bound to the exact
request shown (RFC 6749 §10.12, RFC 9700 §4.7), and escapes everything a client supplied
(RFC 7591 §5).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient

from tests.conftest import REDIRECT, query_of
from tests.factories import UserFactory, make_client
from tests.security.conftest import assert_error_page, assert_oauth_error, register, row_counts
from twenty_oauth.models import AuthorizationCode, Client

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def consent_url(oauth_client: Client, **extra) -> str:
    params = {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": oauth_client.redirect_uris[0],
        "state": "st",
        "scope": "api",
        **extra,
    }
    return "/oauth/authorize?" + urlencode(params)


def consent_page(http, user, oauth_client: Client, **extra):
    http.force_login(user)
    page = http.get(consent_url(oauth_client, **extra))
    assert page.status_code == 200, page.content[:300]
    return page


def assert_unframeable(response) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_rfc9700_4_16_consent_page_cannot_be_framed(client, user, confidential):
    oauth_client, _ = confidential
    assert_unframeable(consent_page(client, user, oauth_client))


def test_rfc9700_4_16_authorization_error_pages_cannot_be_framed(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    unknown = client.get(consent_url(oauth_client, client_id="unknown"))
    tampered = client.post("/oauth/authorize", {"request": "forged", "allow": "1"})
    for response in (unknown, tampered):
        assert_error_page(response)
        assert_unframeable(response)


def test_rfc9700_4_2_4_consent_page_leaks_no_referer_to_other_sites(client, user):
    oauth_client, _ = make_client(logo_uri="https://cdn.example.com/logo.png")
    page = consent_page(client, user, oauth_client)
    # "same-origin" keeps the Referer (and the request's state) on this site, while still
    # letting the form's own POST pass Django's origin check; "no-referrer" would be stricter.
    assert page["Referrer-Policy"] in ("no-referrer", "same-origin")
    images = re.findall(r"<img [^>]*>", page.content.decode())
    assert images, "the logo is shown"
    for image in images:
        assert 'src="https://cdn.example.com/logo.png"' in image
        assert 'referrerpolicy="no-referrer"' in image


def test_rfc6749_10_12_consent_page_is_not_cached(client, user, confidential):
    oauth_client, _ = confidential
    page = consent_page(client, user, oauth_client)
    assert "no-store" in page["Cache-Control"]


def test_rfc6749_10_12_consent_post_requires_the_csrf_token(user, confidential):
    oauth_client, _ = confidential
    browser = HttpClient(enforce_csrf_checks=True)
    page = consent_page(browser, user, oauth_client)
    signed = page.context["signed_request"]
    before = row_counts()
    forged = browser.post("/oauth/authorize", {"request": signed, "allow": "1"})
    assert forged.status_code == 403
    assert "Location" not in forged
    assert row_counts() == before
    token = browser.cookies["csrftoken"].value
    genuine = browser.post(
        "/oauth/authorize", {"request": signed, "allow": "1", "csrfmiddlewaretoken": token}
    )
    assert genuine.status_code == 302
    assert "code" in query_of(genuine["Location"])


def test_rfc6749_10_12_consent_is_never_given_by_a_get(client, user, confidential):
    oauth_client, _ = confidential
    page = consent_page(client, user, oauth_client, allow="1")
    assert "Location" not in page
    assert AuthorizationCode.objects.count() == 0


def test_rfc9700_4_7_tampered_consent_form_fails(client, user, confidential):
    oauth_client, _ = confidential
    signed = consent_page(client, user, oauth_client).context["signed_request"]
    before = row_counts()
    flipped = ("A" if signed[5] != "A" else "B").join((signed[:5], signed[6:]))
    for value in (flipped, signed + "x", signed.rsplit(":", 1)[0], ""):
        assert_error_page(client.post("/oauth/authorize", {"request": value, "allow": "1"}))
    assert row_counts() == before


def test_rfc9700_4_7_consent_fields_outside_the_signature_are_ignored(client, user, confidential):
    """Only the signed request counts: a redirect_uri or scope added to the POST changes nothing."""
    oauth_client, _ = confidential
    signed = consent_page(client, user, oauth_client).context["signed_request"]
    response = client.post(
        "/oauth/authorize",
        {
            "request": signed,
            "allow": "1",
            "redirect_uri": "https://evil.example/cb",
            "scope": "api profile",
            "state": "attacker",
            "client_id": "other",
        },
    )
    assert response["Location"].startswith(REDIRECT + "?")
    assert query_of(response["Location"])["state"] == "st"
    assert AuthorizationCode.objects.get().scope == "api"


def test_rfc9700_4_7_consent_form_is_bound_to_the_user_who_saw_it(client, user, confidential):
    oauth_client, _ = confidential
    signed = consent_page(client, user, oauth_client).context["signed_request"]
    other = HttpClient()
    other.force_login(UserFactory())
    assert_error_page(other.post("/oauth/authorize", {"request": signed, "allow": "1"}))
    assert AuthorizationCode.objects.count() == 0


def test_rfc7591_5_client_supplied_strings_are_escaped(client, user):
    oauth_client, _ = make_client(
        client_name=XSS,
        client_uri='https://evil.example/"><script>alert(1)</script>',
        logo_uri='https://evil.example/logo.png"onerror="alert(1)',
    )
    html = consent_page(client, user, oauth_client).content.decode()
    assert "<script>" not in html.split("</style>", 1)[1]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'onerror="alert(1)"' not in html
    assert "logo.png&quot;onerror=&quot;alert(1)" in html


def test_rfc7591_5_state_is_never_rendered_raw(client, user, confidential):
    oauth_client, _ = confidential
    state = '"><script>alert(1)</script>'
    page = consent_page(client, user, oauth_client, state=state)
    assert "<script>alert(1)</script>" not in page.content.decode()
    response = client.post("/oauth/authorize", {"request": page.context["signed_request"], "allow": "1"})
    assert query_of(response["Location"])["state"] == state


def test_rfc7591_2_logo_uri_must_be_https(client, user):
    before = row_counts()
    for logo in ["http://cdn.example.com/logo.png", "javascript:alert(1)", "data:image/png;base64,AAAA"]:
        response = register(client, {"redirect_uris": ["https://a.example/cb"], "logo_uri": logo})
        assert_oauth_error(response, 400, "invalid_client_metadata")
    assert row_counts() == before
    # A logo that reached the database some other way is still not shown unless https.
    oauth_client, _ = make_client()
    Client.objects.filter(pk=oauth_client.pk).update(logo_uri="http://cdn.example.com/logo.png")
    oauth_client.refresh_from_db()
    html = consent_page(client, user, oauth_client).content.decode()
    assert "<img" not in html
    assert "cdn.example.com" not in html


def test_rfc9700_4_16_consent_page_names_the_destination_host(client, user):
    oauth_client, _ = make_client(client_name="Friendly App", redirect_uris=["https://collector.example/cb"])
    html = consent_page(client, user, oauth_client).content.decode()
    assert "collector.example" in html
