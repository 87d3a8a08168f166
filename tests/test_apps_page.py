"""``/oauth/apps``: a user's own authorized applications, and revoking one, through HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client as HttpClient
from django.utils import timezone, translation

from tests.conftest import REDIRECT, api, code_tokens, obtain_code, pkce_pair, refresh, token_request
from tests.factories import ConsentFactory, UserFactory, make_client
from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import AccessToken, Client, Consent

APPS = "/oauth/apps"


@pytest.fixture
def two_apps(client, user):
    """The user authorized two applications; another user authorized the first one too."""
    crm, crm_secret = make_client(
        client_name="CRM Sync",
        client_uri="https://crm.example.com/about",
        logo_uri="https://crm.example.com/l.png",
    )
    notes, notes_secret = make_client(client_name="Notes", redirect_uris=[REDIRECT])
    other = UserFactory()
    tokens = {
        "crm": code_tokens(client, user, crm, crm_secret, scope="api profile"),
        "notes": code_tokens(client, user, notes, notes_secret),
        "other": code_tokens(client, other, crm, crm_secret),
    }
    client.force_login(user)
    return {"crm": (crm, crm_secret), "notes": (notes, notes_secret), "other_user": other, "tokens": tokens}


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(APPS)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/oauth/apps"


def test_lists_the_users_apps_with_scopes_and_last_use(client, user, two_apps):
    never, _ = make_client(client_name="Never Used")
    verifier, challenge = pkce_pair()
    obtain_code(client, user, never, challenge=challenge)  # consented, never got a token
    ConsentFactory(user=two_apps["other_user"], client__client_name="Theirs")

    response = client.get(APPS)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]
    assert html.index("CRM Sync") < html.index("Never Used") < html.index("Notes")
    assert "Theirs" not in html
    assert "crm.example.com" in html and 'src="https://crm.example.com/l.png"' in html
    for description in oauth_settings.SCOPES.values():
        assert description in html
    apps = response.context["apps"]
    by_name = {app["name"]: app for app in apps}
    assert set(by_name) == {"CRM Sync", "Notes", "Never Used"}
    assert [name for name, _ in by_name["CRM Sync"]["scopes"]] == ["api", "profile"]
    assert by_name["CRM Sync"]["last_used_at"] is not None
    assert by_name["Never Used"]["last_used_at"] is None
    assert html.count(">Revoke access<") == 3
    assert "never" in html and "just now" in html
    AccessToken.objects.filter(client=two_apps["notes"][0]).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    assert "2\xa0hours ago" in client.get(APPS).content.decode()


def test_revoke_ends_consent_and_every_token_at_once(client, user, two_apps):
    crm, crm_secret = two_apps["crm"]
    tokens = two_apps["tokens"]
    verifier, challenge = pkce_pair()
    pending = obtain_code(client, user, crm, challenge=challenge)
    second = code_tokens(client, user, crm, crm_secret)  # a second grant to the same app
    for body in (tokens["crm"], second, tokens["notes"], tokens["other"]):
        assert api(client, body["access_token"]).status_code == 200

    consent = Consent.objects.get(user=user, client=crm)
    response = client.post(APPS, {"consent": consent.pk})
    assert response.status_code == 303
    assert response["Location"] == APPS
    page = client.get(APPS)
    html = page.content.decode()
    assert "CRM Sync can no longer access your account." in html
    assert [app["name"] for app in page.context["apps"]] == ["Notes"]

    consent.refresh_from_db()
    assert consent.revoked_at is not None
    for body in (tokens["crm"], second):
        assert api(client, body["access_token"]).status_code == 401
        denied = refresh(client, crm, crm_secret, body["refresh_token"])
        assert denied.status_code == 400 and denied.json()["error"] == "invalid_grant"
    redeemed = token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": pending,
            "redirect_uri": REDIRECT,
            "client_id": crm.client_id,
            "client_secret": crm_secret,
            "code_verifier": verifier,
        },
    )
    assert redeemed.status_code == 400 and redeemed.json()["error"] == "invalid_grant"
    # The user's other app and the other user's grant to the same app keep working.
    assert api(client, tokens["notes"]["access_token"]).status_code == 200
    assert api(client, tokens["other"]["access_token"]).status_code == 200
    assert refresh(client, crm, crm_secret, tokens["other"]["refresh_token"]).status_code == 200


def test_after_revoking_the_app_must_ask_again(client, user, two_apps):
    crm, crm_secret = two_apps["crm"]
    client.post(APPS, {"consent": Consent.objects.get(user=user, client=crm).pk})
    body = code_tokens(client, user, crm, crm_secret)  # the consent page is shown and approved
    assert api(client, body["access_token"]).status_code == 200
    assert Consent.objects.get(user=user, client=crm).revoked_at is None
    assert "CRM Sync" in client.get(APPS).content.decode()


def test_a_narrower_approval_does_not_hide_what_the_app_still_holds(client, user, two_apps):
    crm, crm_secret = two_apps["crm"]
    code_tokens(client, user, crm, crm_secret, scope="api")  # approved again, for less
    client.force_login(user)
    apps = {app["name"]: app for app in client.get(APPS).context["apps"]}
    assert [name for name, _ in apps["CRM Sync"]["scopes"]] == ["api", "profile"]
    # Once withdrawn, the next approval is all the app holds.
    client.post(APPS, {"consent": Consent.objects.get(user=user, client=crm).pk})
    code_tokens(client, user, crm, crm_secret, scope="api")
    client.force_login(user)
    apps = {app["name"]: app for app in client.get(APPS).context["apps"]}
    assert [name for name, _ in apps["CRM Sync"]["scopes"]] == ["api"]


def test_cannot_revoke_another_users_consent(client, user, two_apps):
    crm, _ = two_apps["crm"]
    theirs = Consent.objects.get(user=two_apps["other_user"], client=crm)
    for value in (theirs.pk, "abc", "", "99999", f"{theirs.pk} "):
        response = client.post(APPS, {"consent": value})
        assert response.status_code == 404, value
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert api(client, two_apps["tokens"]["other"]["access_token"]).status_code == 200


def test_revoke_needs_the_csrf_token(user, two_apps):
    crm, _ = two_apps["crm"]
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(user)
    consent = Consent.objects.get(user=user, client=crm)
    assert browser.post(APPS, {"consent": consent.pk}).status_code == 403
    consent.refresh_from_db()
    assert consent.revoked_at is None

    page = browser.get(APPS)
    token = page.cookies["csrftoken"].value
    response = browser.post(APPS, {"consent": consent.pk, "csrfmiddlewaretoken": token})
    assert response.status_code == 303


def test_revoking_twice_is_harmless(client, user, two_apps):
    crm, _ = two_apps["crm"]
    consent = Consent.objects.get(user=user, client=crm)
    assert client.post(APPS, {"consent": consent.pk}).status_code == 303
    assert client.post(APPS, {"consent": consent.pk}).status_code == 303
    assert "CRM Sync" not in [app["name"] for app in client.get(APPS).context["apps"]]


def test_deactivated_client_is_not_listed(client, user, two_apps):
    crm, _ = two_apps["crm"]
    crm.is_active = False
    crm.save()
    assert [app["name"] for app in client.get(APPS).context["apps"]] == ["Notes"]


def test_empty_list_and_other_methods(client, user):
    client.force_login(user)
    page = client.get(APPS)
    assert page.status_code == 200
    assert "You have not authorized any application." in page.content.decode()
    assert client.put(APPS).status_code == 405
    assert client.delete(APPS).status_code == 405


def test_consent_page_links_to_the_apps_page(client, user, two_apps):
    crm, _ = two_apps["crm"]
    _, challenge = pkce_pair()
    page = client.get(
        "/oauth/authorize",
        {
            "client_id": crm.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    assert f'href="{APPS}"' in page.content.decode()


# --- the consent page these pages share their look with --------------------------------------


def consent_page(http, oauth_client, **extra):
    _, challenge = pkce_pair()
    params = {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "api profile",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return http.get("/oauth/authorize", params)


def test_consent_page_needs_no_javascript_and_is_labelled(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    response = consent_page(client, oauth_client)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en-us" dir="ltr">' in html
    assert "<main" in html and "<h1>Test App wants to access your account</h1>" in html
    assert "<script" not in html and " on" + "click" not in html
    form = re.search(r'<form method="post" action="/oauth/authorize">(.*?)</form>', html, re.S).group(1)
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'name="request" value="{response.context["signed_request"]}"' in form
    assert re.findall(r'<button type="submit" name="(\w+)"[^>]*>(\w+)</button>', form) == [
        ("deny", "Deny"),
        ("allow", "Allow"),
    ]
    # Each scope with its description; the scope list is named by its heading.
    assert 'aria-labelledby="scopes-heading"' in html and 'id="scopes-heading"' in html
    for name, description in oauth_settings.SCOPES.items():
        assert f"<code>{name}</code>" in html and description in html
    # Who is signed in, and a way to switch account that comes back to this request: a POST
    # (it signs out) in a button that reads "Not you?" and names what it does.
    assert f"<strong>{user.username}</strong>" in html
    not_you = re.search(r'<form method="post" action="/oauth/switch-user">(.*?)</form>', html, re.S).group(1)
    assert 'name="csrfmiddlewaretoken"' in not_you
    next_url = re.search(r'<input type="hidden" name="next" value="([^"]+)">', not_you).group(1)
    assert unescape(next_url) == response.request["PATH_INFO"] + "?" + response.request["QUERY_STRING"]
    assert (
        '<button type="submit" class="link">Not you?<span class="visually-hidden"> '
        "Sign out and sign in with another account</span></button>"
    ) in not_you
    assert 'You will then be sent to <span class="host">app.example.com</span>' in html


def test_consent_page_shows_a_logo_only_over_https(client, user):
    client.force_login(user)
    with_logo, _ = make_client(client_name="Logo App", logo_uri="https://cdn.example.com/logo.png")
    html = consent_page(client, with_logo).content.decode()
    assert '<img class="logo" src="https://cdn.example.com/logo.png" alt=""' in html
    assert 'referrerpolicy="no-referrer"' in html

    Client.objects.filter(pk=with_logo.pk).update(logo_uri="http://cdn.example.com/logo.png")
    html = consent_page(client, with_logo).content.decode()
    assert "<img" not in html and "cdn.example.com" not in html
    assert '<span class="logo" aria-hidden="true">L</span>' in html


def test_consent_page_is_translated(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    with translation.override("fr"):
        html = consent_page(client, oauth_client).content.decode()
        apps_html = client.get(APPS).content.decode()
    assert '<html lang="fr" dir="ltr">' in html
    assert "Test App demande l’accès à votre compte" in html
    assert ">Refuser</button>" in html and ">Autoriser</button>" in html
    assert "Ce n’est pas vous ?" in html
    assert "Se déconnecter et se connecter avec un autre compte" in html
    assert "Applications autorisées" in apps_html


def test_a_host_overrides_the_pages_by_template_inheritance(client, user, confidential, tmp_path, settings):
    """The pattern the README documents: extend the app's template under the same name."""
    pages = tmp_path / "twenty_oauth"
    pages.mkdir()
    (pages / "base.html").write_text(
        '{% extends "twenty_oauth/base.html" %}'
        '{% block header %}<header class="brand">Example CRM</header>{% endblock %}'
        '{% block extra_head %}<link rel="icon" href="/favicon.ico">{% endblock %}'
    )
    (pages / "authorize.html").write_text(
        '{% extends "twenty_oauth/authorize.html" %}'
        '{% block fine_print %}<p>Read our <a href="/privacy">privacy notice</a>.</p>{% endblock %}'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    oauth_client, _ = confidential
    client.force_login(user)
    html = consent_page(client, oauth_client).content.decode()
    assert '<header class="brand">Example CRM</header>' in html
    assert '<link rel="icon" href="/favicon.ico">' in html
    assert 'Read our <a href="/privacy">privacy notice</a>.' in html
    assert "your authorized applications" not in html  # the replaced block
    assert "Test App wants to access your account" in html  # the kept ones
    assert 'name="allow"' in html
    apps_html = client.get(APPS).content.decode()
    assert '<header class="brand">Example CRM</header>' in apps_html
