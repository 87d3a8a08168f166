"""Django admin, driven through HTTP as a staff member would: forms, actions, read-only lists."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.conftest import (
    DEVICE_CODE,
    REDIRECT,
    api,
    basic,
    code_request,
    code_tokens,
    configure,
    device_tokens,
    obtain_code,
    pkce_pair,
    refresh_request,
    register,
    token_request,
)
from tests.factories import UserFactory, make_client
from twenty_oauth.models import AccessToken, Client, Consent, RefreshToken, SigningKey, TokenFamily
from twenty_oauth.protocol import key_encryption, opaque

CHANGELIST = "admin:twenty_oauth_client_changelist"


@pytest.fixture
def staff(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_http(client, staff):
    client.force_login(staff)
    return client


def add_form(**overrides) -> dict:
    data = {
        "client_name": "Billing Sync",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types_choice": ["authorization_code", "client_credentials"],
        "redirect_uris_text": "https://billing.example.com/cb\nhttp://127.0.0.1/cb",
        "scope": "",
        "client_uri": "https://billing.example.com",
        "logo_uri": "",
        "tos_uri": "",
        "policy_uri": "",
        "contacts_text": "ops@billing.example.com",
        "is_active": "on",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def run_action(http, action: str, *objects, url=None, query: str = ""):
    """POST the changelist's action form, as the "Go" button does."""
    model = type(objects[0])._meta.model_name if objects else "client"
    url = url or reverse(f"admin:twenty_oauth_{model}_changelist")
    return http.post(
        url + query,
        {"action": action, "index": 0, "select_across": 0, "_selected_action": [o.pk for o in objects]},
    )


def shown_secret(response) -> str:
    match = re.search(r'<code class="client-secret"[^>]*>([^<]+)</code>', response.content.decode())
    assert match, response.content.decode()
    return match.group(1)


def cc_token(http, client_id, secret):
    return token_request(
        http,
        {"grant_type": "client_credentials", "scope": "api"},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


# --- the client list -------------------------------------------------------------------------


def test_changelist_columns_search_and_filters(admin_http, user, django_user_model):
    confidential, secret = make_client(client_name="Alpha CRM Sync")
    public, _ = make_client(client_name="Beta Desktop", token_endpoint_auth_method="none")
    dynamic, _ = make_client(client_name="Gamma Agent", source=Client.Source.DYNAMIC)
    code_tokens(admin_http, user, confidential, secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = admin_http.get(reverse(CHANGELIST))
    html = page.content.decode()
    assert page.status_code == 200
    for heading in ("Client ID", "Type", "Grant types", "Registered through", "Created", "Last used"):
        assert heading.lower() in html.lower(), heading
    assert "Active tokens" in html
    assert confidential.client_id in html and public.client_id in html
    assert "confidential" in html and "public" in html
    assert "authorization_code, refresh_token" in html
    assert "dynamic registration" in html and "Django admin" in html
    # The confidential client used the token endpoint: it has a last-used time and 2 live tokens.
    row = _row(html, confidential.client_id)
    assert 'field-active_tokens">2<' in row
    assert not re.search(r'field-last_used[^"]*">never<', row)
    assert re.search(r'field-last_used[^"]*">\w+\.? \d+, \d{4}', row)
    assert 'field-active_tokens">0<' in _row(html, public.client_id)
    assert re.search(r'field-last_used[^"]*">never<', _row(html, public.client_id))
    assert secret not in html
    assert Client.objects.get(pk=confidential.pk).client_secret_digest not in html

    by_name = admin_http.get(reverse(CHANGELIST), {"q": "Beta"}).content.decode()
    assert public.client_id in by_name and confidential.client_id not in by_name
    by_id = admin_http.get(reverse(CHANGELIST), {"q": dynamic.client_id}).content.decode()
    assert dynamic.client_id in by_id and public.client_id not in by_id

    publics = admin_http.get(reverse(CHANGELIST), {"type": "public"}).content.decode()
    assert public.client_id in publics and confidential.client_id not in publics
    confidentials = admin_http.get(reverse(CHANGELIST), {"type": "confidential"}).content.decode()
    assert confidential.client_id in confidentials and public.client_id not in confidentials
    dynamics = admin_http.get(reverse(CHANGELIST), {"source__exact": "dynamic"}).content.decode()
    assert dynamic.client_id in dynamics and confidential.client_id not in dynamics


def _row(html: str, client_id: str) -> str:
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S)[1:]:
        if client_id in row:
            return row
    raise AssertionError(f"no row for {client_id}")


def test_non_staff_cannot_reach_the_admin(client, user):
    client.force_login(user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- creating a client: the secret is shown once ---------------------------------------------


def test_create_confidential_client_shows_secret_once(admin_http):
    response = admin_http.post(reverse("admin:twenty_oauth_client_add"), add_form())
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    client = Client.objects.get(client_name="Billing Sync")
    assert client.source == Client.Source.ADMIN
    assert client.client_id in response.content.decode()
    assert client.redirect_uris == ["https://billing.example.com/cb", "http://127.0.0.1/cb"]
    assert client.grant_types == ["authorization_code", "client_credentials", "refresh_token"]
    assert client.contacts == ["ops@billing.example.com"]
    assert client.client_secret_digest == opaque.digest(secret)

    # The secret works, and no later page shows it again.
    assert cc_token(admin_http, client.client_id, secret).status_code == 200
    for url in (
        reverse(CHANGELIST),
        reverse("admin:twenty_oauth_client_change", args=[client.pk]),
        reverse("admin:twenty_oauth_client_history", args=[client.pk]),
    ):
        page = admin_http.get(url)
        assert page.status_code == 200
        assert secret not in page.content.decode()
        assert client.client_secret_digest not in page.content.decode()


def test_create_public_client_has_no_secret(admin_http):
    response = admin_http.post(
        reverse("admin:twenty_oauth_client_add"),
        add_form(token_endpoint_auth_method="none", grant_types_choice=["authorization_code"]),
    )
    assert response.status_code == 302
    client = Client.objects.get(client_name="Billing Sync")
    assert response["Location"] == reverse(CHANGELIST)
    assert client.is_public and client.client_secret_digest == ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"redirect_uris_text": "https://x.example/cb#frag"}, "redirect_uris_text", "fragment"),
        ({"redirect_uris_text": "javascript:alert(1)"}, "redirect_uris_text", "not allowed"),
        ({"redirect_uris_text": ""}, "redirect_uris_text", "required"),
        ({"logo_uri": "http://billing.example.com/logo.png"}, "logo_uri", "https"),
        ({"scope": "api admin"}, "scope", "Unknown scope"),
        ({"contacts_text": "not-an-email"}, "contacts_text", "email"),
        (
            {"token_endpoint_auth_method": "none", "grant_types_choice": ["client_credentials"]},
            "grant_types_choice",
            "public client",
        ),
        ({"grant_types_choice": []}, "grant_types_choice", "required"),
        # The default redirect URIs are an https one and a loopback one: neither type takes both.
        ({"application_type": "web"}, "redirect_uris_text", "web client"),
        ({"application_type": "native"}, "redirect_uris_text", "native client"),
        ({"application_type": "desktop"}, "application_type", "valid choice"),
        (
            {
                "token_endpoint_auth_method": "none",
                "grant_types_choice": ["authorization_code"],
                "introspection_allowed": "on",
            },
            "introspection_allowed",
            "public client",
        ),
    ],
)
def test_create_refuses_what_registration_refuses(admin_http, overrides, field, message):
    response = admin_http.post(reverse("admin:twenty_oauth_client_add"), add_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not Client.objects.exists()


def test_made_public_the_client_loses_its_grants(admin_http, user):
    """A refresh token spent with a secret until now must not be spendable without one."""
    client, secret = make_client()
    body = code_tokens(admin_http, user, client, secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:twenty_oauth_client_change", args=[client.pk])
    form = add_form(
        token_endpoint_auth_method="none",
        grant_types_choice=["authorization_code"],
        redirect_uris_text=REDIRECT,
        client_uri="",
        contacts_text="",
    )
    assert admin_http.post(url, form).status_code == 302
    assert api(admin_http, body["access_token"]).status_code == 401
    refused = token_request(
        admin_http,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": client.client_id,
        },
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_client_credentials_withdrawn_in_the_form_ends_the_clients_own_tokens(admin_http, user):
    client, secret = make_client(
        source=Client.Source.DYNAMIC,
        grant_types=["authorization_code", "client_credentials"],
        client_credentials_allowed=True,
    )
    user_grant = code_tokens(admin_http, user, client, secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    own = cc_token(admin_http, client.client_id, secret).json()["access_token"]
    url = reverse("admin:twenty_oauth_client_change", args=[client.pk])
    form = add_form(
        token_endpoint_auth_method="client_secret_post",
        grant_types_choice=["authorization_code", "client_credentials"],
        redirect_uris_text=REDIRECT,
        client_uri="",
        contacts_text="",
    )  # client_credentials_allowed left unticked
    assert admin_http.post(url, form).status_code == 302
    assert not Client.objects.get(pk=client.pk).client_credentials_allowed
    assert api(admin_http, own).status_code == 401
    assert api(admin_http, user_grant["access_token"]).status_code == 200  # a user's grant is not its own


def test_a_registered_client_can_be_saved_in_the_admin(admin_http, client):
    """What /oauth/register accepts, the change form accepts: the same rules, not stricter ones."""
    registered = client.post(
        "/oauth/register",
        '{"redirect_uris": ["https://my_host.example/cb"], "client_uri": "https://my_host.example/",'
        ' "token_endpoint_auth_method": "none", "client_name": "Underscored"}',
        content_type="application/json",
    )
    assert registered.status_code == 201
    stored = Client.objects.get(client_id=registered.json()["client_id"])
    url = reverse("admin:twenty_oauth_client_change", args=[stored.pk])
    form = add_form(
        client_name="Underscored",
        token_endpoint_auth_method="none",
        grant_types_choice=["authorization_code"],
        redirect_uris_text="https://my_host.example/cb",
        client_uri="https://my_host.example/",
        contacts_text="",
        is_active=None,
    )
    response = admin_http.post(url, form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert not Client.objects.get(pk=stored.pk).is_active


def test_edit_normalises_and_validates(admin_http):
    client, _ = make_client(client_name="Old")
    url = reverse("admin:twenty_oauth_client_change", args=[client.pk])
    page = admin_http.get(url)
    assert page.status_code == 200
    assert "https://app.example.com/callback" in page.content.decode()

    bad = admin_http.post(url, add_form(client_name="New", logo_uri="ftp://x/logo.png"))
    assert bad.status_code == 200
    assert Client.objects.get(pk=client.pk).client_name == "Old"

    good = admin_http.post(url, add_form(client_name="New", scope="profile  api"))
    assert good.status_code == 302
    client.refresh_from_db()
    assert client.client_name == "New"
    assert client.scope == "profile api"
    assert client.redirect_uris == ["https://billing.example.com/cb", "http://127.0.0.1/cb"]


def test_public_client_made_confidential_gets_a_secret_shown_once(admin_http):
    client, _ = make_client(token_endpoint_auth_method="none")
    url = reverse("admin:twenty_oauth_client_change", args=[client.pk])
    response = admin_http.post(
        url, add_form(grant_types_choice=["client_credentials"], redirect_uris_text="")
    )
    assert response.status_code == 200
    secret = shown_secret(response)
    assert cc_token(admin_http, client.client_id, secret).status_code == 200
    # And back to public: the secret stops working.
    back = admin_http.post(
        url, add_form(token_endpoint_auth_method="none", grant_types_choice=["authorization_code"])
    )
    assert back.status_code == 302
    assert Client.objects.get(pk=client.pk).client_secret_digest == ""


# --- actions ---------------------------------------------------------------------------------


def test_rotate_secret_shows_new_secret_and_old_one_stops(admin_http):
    client, old = make_client(grant_types=["client_credentials"], redirect_uris=[])
    public, _ = make_client(token_endpoint_auth_method="none", client_name="Public")
    response = run_action(admin_http, "rotate_secret", client, public)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = shown_secret(response)
    assert new != old
    assert response.content.decode().count('class="client-secret"') == 1  # the public one has none
    assert cc_token(admin_http, client.client_id, old).status_code == 401
    assert cc_token(admin_http, client.client_id, new).status_code == 200
    assert new not in admin_http.get(reverse(CHANGELIST)).content.decode()
    (entry,) = LogEntry.objects.filter(object_id=str(client.pk))
    assert entry.get_change_message() == "Rotated the client secret."
    assert new not in entry.change_message and old not in entry.change_message


def test_rotate_secret_gives_an_expired_secret_a_fresh_lifetime(admin_http, settings):
    """RFC 7591 §3.2.1: client_secret_expires_at is the expiry of the secret, so a new one has its own."""
    settings.TWENTY_OAUTH = {"CLIENT_SECRET_LIFETIME": 3600}
    client, old = make_client(
        source=Client.Source.DYNAMIC,
        grant_types=["client_credentials"],
        redirect_uris=[],
        client_credentials_allowed=True,
    )
    issued = client.client_secret_expires_at
    assert 3590 < (issued - timezone.now()).total_seconds() <= 3600
    Client.objects.filter(pk=client.pk).update(client_secret_expires_at=timezone.now() - timedelta(seconds=1))
    refused = cc_token(admin_http, client.client_id, old)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    new = shown_secret(run_action(admin_http, "rotate_secret", client))
    renewed = Client.objects.get(pk=client.pk).client_secret_expires_at
    assert 3590 < (renewed - timezone.now()).total_seconds() <= 3600
    assert cc_token(admin_http, client.client_id, new).status_code == 200
    # A client an administrator made has no lifetime, before or after rotation.
    admin_made, _ = make_client(grant_types=["client_credentials"], redirect_uris=[])
    shown_secret(run_action(admin_http, "rotate_secret", admin_made))
    assert Client.objects.get(pk=admin_made.pk).client_secret_expires_at is None


def test_rotate_on_public_clients_only_warns(admin_http):
    public, _ = make_client(token_endpoint_auth_method="none")
    response = run_action(admin_http, "rotate_secret", public)
    assert response.status_code == 302
    page = admin_http.get(response["Location"])
    assert "Public and private_key_jwt clients have no secret." in page.content.decode()


def test_revoke_tokens_ends_every_grant_of_the_client(admin_http, user):
    client, secret = make_client()
    other, other_secret = make_client(client_name="Other")
    body = code_tokens(admin_http, user, client, secret)
    other_body = code_tokens(admin_http, user, other, other_secret)
    verifier, challenge = pkce_pair()
    pending = obtain_code(admin_http, user, client, challenge=challenge)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert api(admin_http, body["access_token"]).status_code == 200

    response = run_action(admin_http, "revoke_tokens", client)
    assert response.status_code == 302
    assert "Revoked 1 grant." in admin_http.get(response["Location"]).content.decode()

    assert api(admin_http, body["access_token"]).status_code == 401
    refresh = token_request(admin_http, refresh_request(client, body["refresh_token"], secret))
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    redeem = token_request(
        admin_http,
        {
            "grant_type": "authorization_code",
            "code": pending,
            "redirect_uri": REDIRECT,
            "client_id": client.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        },
    )
    assert redeem.status_code == 400 and redeem.json()["error"] == "invalid_grant"
    # Another client's tokens are untouched; the client itself still works for new grants.
    assert api(admin_http, other_body["access_token"]).status_code == 200
    assert code_tokens(admin_http, user, client, secret)["access_token"]


def test_client_credentials_for_a_self_registered_client(admin_http):
    registered = admin_http.post(
        "/oauth/register",
        {
            "client_name": "Nightly Export",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        content_type="application/json",
    )
    assert registered.status_code == 201, registered.content
    info = registered.json()
    client = Client.objects.get(client_id=info["client_id"])
    refused = cc_token(admin_http, info["client_id"], info["client_secret"])
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"

    response = run_action(admin_http, "allow_client_credentials", client)
    assert "1 client may now use client_credentials." in admin_http.get(response["Location"]).content.decode()
    issued = cc_token(admin_http, info["client_id"], info["client_secret"])
    assert issued.status_code == 200, issued.content
    token = issued.json()["access_token"]
    assert api(admin_http, token).status_code == 200

    response = run_action(admin_http, "forbid_client_credentials", client)
    assert response.status_code == 302
    assert api(admin_http, token).status_code == 401
    again = cc_token(admin_http, info["client_id"], info["client_secret"])
    assert again.status_code == 400 and again.json()["error"] == "unauthorized_client"


def test_allow_client_credentials_skips_public_and_staff_clients(admin_http):
    public, _ = make_client(token_endpoint_auth_method="none", source=Client.Source.DYNAMIC)
    staff_made, _ = make_client(client_name="Staff made")
    response = run_action(admin_http, "allow_client_credentials", public, staff_made)
    page = admin_http.get(response["Location"]).content.decode()
    assert "0 clients may now use client_credentials." in page
    assert "2 skipped" in page
    assert not Client.objects.filter(client_credentials_allowed=True).exists()


def test_application_type_in_the_form_and_the_list_filter(admin_http):
    page = admin_http.get(reverse("admin:twenty_oauth_client_add")).content.decode()
    assert re.search(r'<select name="application_type"[^>]*>', page)
    assert '<option value="web">web</option>' in page and '<option value="native">native</option>' in page
    response = admin_http.post(
        reverse("admin:twenty_oauth_client_add"),
        add_form(
            client_name="Desktop",
            application_type="native",
            token_endpoint_auth_method="none",
            grant_types_choice=["authorization_code"],
            redirect_uris_text="http://127.0.0.1/cb\ncom.example.desktop:/cb",
        ),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    native = Client.objects.get(client_name="Desktop")
    assert native.application_type == Client.ApplicationType.NATIVE
    web, _ = make_client(client_name="Portal", application_type="web")
    untyped, _ = make_client(client_name="Untyped")

    listing = admin_http.get(reverse(CHANGELIST)).content.decode()
    assert "By application type" in listing
    natives = admin_http.get(reverse(CHANGELIST), {"application_type__exact": "native"}).content.decode()
    assert native.client_id in natives and web.client_id not in natives and untyped.client_id not in natives
    webs = admin_http.get(reverse(CHANGELIST), {"application_type__exact": "web"}).content.decode()
    assert web.client_id in webs and native.client_id not in webs

    # Blank in the form is "not given": the client keeps today's rules, both kinds of URI.
    url = reverse("admin:twenty_oauth_client_change", args=[native.pk])
    edited = admin_http.post(
        url,
        add_form(
            client_name="Desktop",
            application_type="",
            token_endpoint_auth_method="none",
            grant_types_choice=["authorization_code"],
            redirect_uris_text="http://127.0.0.1/cb\nhttps://desktop.example.com/cb",
        ),
    )
    assert edited.status_code == 302, edited.context["adminform"].form.errors
    native.refresh_from_db()
    assert native.application_type == ""
    assert native.redirect_uris == ["http://127.0.0.1/cb", "https://desktop.example.com/cb"]


def introspect(http, client_id: str, secret: str, token: str):
    return http.post(
        "/oauth/introspect",
        f"token={token}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def test_introspection_allowed_in_the_form_lets_a_resource_server_see_every_token(admin_http, user):
    app, app_secret = make_client(client_name="App")
    body = code_tokens(admin_http, user, app, app_secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    reports, reports_secret = make_client(
        client_name="Reports API",
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
    )
    assert introspect(admin_http, reports.client_id, reports_secret, body["access_token"]).json() == {
        "active": False
    }
    page = admin_http.get(reverse("admin:twenty_oauth_client_change", args=[reports.pk])).content.decode()
    assert re.search(r'<input type="checkbox" name="introspection_allowed"[^>]*>', page)

    form = add_form(
        client_name="Reports API",
        token_endpoint_auth_method="client_secret_basic",
        grant_types_choice=["client_credentials"],
        redirect_uris_text="",
        client_uri="",
        contacts_text="",
    )
    url = reverse("admin:twenty_oauth_client_change", args=[reports.pk])
    response = admin_http.post(url, {**form, "introspection_allowed": "on"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Client.objects.get(pk=reports.pk).introspection_allowed
    described = introspect(admin_http, reports.client_id, reports_secret, body["access_token"])
    assert described.status_code == 200
    assert described.json()["active"] is True and described.json()["client_id"] == app.client_id

    allowed = admin_http.get(reverse(CHANGELIST), {"introspection_allowed__exact": "1"}).content.decode()
    assert "By introspection allowed" in allowed
    assert reports.client_id in allowed and app.client_id not in allowed

    # Unticked again: the other client's tokens are inactive to it once more.
    assert admin_http.post(url, form).status_code == 302
    assert introspect(admin_http, reports.client_id, reports_secret, body["access_token"]).json() == {
        "active": False
    }


def test_deactivate_stops_authorize_token_and_api(admin_http, user):
    client, secret = make_client()
    body = code_tokens(admin_http, user, client, secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    # From a list filtered on active clients: the action must still revoke after the update.
    response = run_action(admin_http, "deactivate", client, query="?is_active__exact=1")
    assert response.status_code == 302
    client.refresh_from_db()
    assert not client.is_active
    assert TokenFamily.objects.get(client=client).revoked_at is not None

    assert api(admin_http, body["access_token"]).status_code == 401
    admin_http.force_login(user)
    page = admin_http.get(
        "/oauth/authorize",
        {"client_id": client.client_id, "response_type": "code", "redirect_uri": REDIRECT, "state": "s"},
    )
    assert page.status_code == 400
    assert "not registered" in page.content.decode()
    denied = token_request(admin_http, refresh_request(client, body["refresh_token"], secret))
    assert denied.status_code == 401 and denied.json()["error"] == "invalid_client"


def test_deactivate_in_the_change_form_stops_tokens(admin_http, user):
    client, secret = make_client(grant_types=["authorization_code", "client_credentials"])
    body = code_tokens(admin_http, user, client, secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = add_form(
        client_name=client.client_name,
        token_endpoint_auth_method="client_secret_post",
        grant_types_choice=["authorization_code", "client_credentials"],
        redirect_uris_text=REDIRECT,
        contacts_text="",
        client_uri="",
        is_active=None,
    )
    response = admin_http.post(reverse("admin:twenty_oauth_client_change", args=[client.pk]), form)
    assert response.status_code == 302
    assert api(admin_http, body["access_token"]).status_code == 401
    # Reactivating does not bring the revoked tokens back.
    form["is_active"] = "on"
    admin_http.post(reverse("admin:twenty_oauth_client_change", args=[client.pk]), form)
    assert Client.objects.get(pk=client.pk).is_active
    assert api(admin_http, body["access_token"]).status_code == 401
    fresh = token_request(
        admin_http,
        {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret},
    )
    assert api(admin_http, fresh.json()["access_token"]).status_code == 200


def test_a_redirect_uri_changed_in_the_admin_ends_the_codes_not_yet_redeemed(admin_http, user):
    """As at the configuration endpoint: a code is redeemed against the URI it was issued for."""
    client, secret = make_client()
    verifier, challenge = pkce_pair()
    code = obtain_code(admin_http, user, client, challenge=challenge)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = add_form(
        client_name=client.client_name,
        token_endpoint_auth_method="client_secret_post",
        grant_types_choice=["authorization_code"],
        redirect_uris_text="https://app.example.com/other",
        contacts_text="",
        client_uri="",
    )
    response = admin_http.post(reverse("admin:twenty_oauth_client_change", args=[client.pk]), form)
    assert response.status_code == 302
    redeemed = token_request(admin_http, code_request(client, code, verifier, secret))
    assert redeemed.status_code == 400
    assert redeemed.json()["error"] == "invalid_grant"


# --- the registration access token (RFC 7592) ------------------------------------------------


def test_the_change_page_says_whether_a_registration_token_exists_never_the_token(admin_http):
    answer = register(admin_http)
    dynamic = Client.objects.get(client_id=answer["client_id"])
    staff_made, _ = make_client()
    page = admin_http.get(reverse("admin:twenty_oauth_client_change", args=[dynamic.pk])).content.decode()
    field = re.search(
        r'<div class="[^"]*field-registration_access_token.*?</div>\s*</div>', page, re.S
    ).group(0)
    assert 'alt="True"' in field
    assert answer["registration_access_token"] not in page
    assert dynamic.registration_access_token_digest not in page
    page = admin_http.get(reverse("admin:twenty_oauth_client_change", args=[staff_made.pk])).content.decode()
    field = re.search(
        r'<div class="[^"]*field-registration_access_token.*?</div>\s*</div>', page, re.S
    ).group(0)
    assert 'alt="False"' in field
    assert answer["registration_access_token"] not in admin_http.get(reverse(CHANGELIST)).content.decode()


def test_saving_a_registered_client_in_the_admin_keeps_its_registration_token(admin_http):
    answer = register(admin_http, token_endpoint_auth_method="none")
    stored = Client.objects.get(client_id=answer["client_id"])
    form = add_form(
        client_name="Renamed by staff",
        token_endpoint_auth_method="none",
        grant_types_choice=["authorization_code"],
        redirect_uris_text=REDIRECT,
        contacts_text="",
        client_uri="",
    )
    response = admin_http.post(reverse("admin:twenty_oauth_client_change", args=[stored.pk]), form)
    assert response.status_code == 302
    read = configure(
        admin_http, "get", answer["registration_client_uri"], answer["registration_access_token"]
    )
    assert read.status_code == 200
    assert read.json()["client_name"] == "Renamed by staff"


def test_revoke_registration_token_action(admin_http):
    answer = register(admin_http)
    dynamic = Client.objects.get(client_id=answer["client_id"])
    staff_made, _ = make_client()
    response = run_action(admin_http, "revoke_registration_token", dynamic, staff_made)
    assert response.status_code == 302
    messages = [m.message for m in response.wsgi_request._messages]
    assert messages == ["Revoked the registration access token of 1 client."]
    refused = configure(
        admin_http, "get", answer["registration_client_uri"], answer["registration_access_token"]
    )
    assert refused.status_code == 401
    dynamic.refresh_from_db()
    assert not dynamic.has_registration_access_token and dynamic.is_active
    # The client itself keeps working: only its self-management ended.
    checked = token_request(
        admin_http,
        {"grant_type": "refresh_token", "refresh_token": "x"}
        | {"client_id": answer["client_id"], "client_secret": answer["client_secret"]},
    )
    assert checked.json()["error"] == "invalid_grant"
    (entry,) = LogEntry.objects.filter(object_id=str(dynamic.pk))
    assert entry.get_change_message() == "Revoked the registration access token."
    assert not LogEntry.objects.filter(object_id=str(staff_made.pk)).exists()


# --- consents and tokens: read-only lists, never a token -----------------------------------


@pytest.fixture
def granted(admin_http, user):
    """A user's consent and tokens for a client; the admin is logged in again afterwards."""
    client, secret = make_client(client_name="Granted App")
    body = code_tokens(admin_http, user, client, secret)
    admin_http.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client, secret, body


def test_consent_and_token_lists_show_no_token(admin_http, user, granted):
    client, secret, body = granted
    access = AccessToken.objects.get()
    refresh = RefreshToken.objects.get()
    forbidden = [secret, body["access_token"], body["refresh_token"], access.jti, refresh.token_digest]
    pages = {
        "admin:twenty_oauth_consent_changelist": [],
        "admin:twenty_oauth_accesstoken_changelist": [],
        "admin:twenty_oauth_refreshtoken_changelist": [],
        "admin:twenty_oauth_tokenfamily_changelist": [],
        "admin:twenty_oauth_consent_change": [Consent.objects.get().pk],
        "admin:twenty_oauth_accesstoken_change": [access.pk],
        "admin:twenty_oauth_refreshtoken_change": [refresh.pk],
        "admin:twenty_oauth_tokenfamily_change": [TokenFamily.objects.get().pk],
    }
    for name, args in pages.items():
        page = admin_http.get(reverse(name, args=args))
        html = page.content.decode()
        assert page.status_code == 200, name
        assert "Granted App" in html, name
        for value in forbidden:
            assert value not in html, (name, value)
    consent_list = admin_http.get(reverse("admin:twenty_oauth_consent_changelist")).content.decode()
    assert user.username in consent_list and "api" in consent_list


def test_token_and_consent_rows_cannot_be_added_changed_or_deleted(admin_http, granted):
    access = AccessToken.objects.get()
    assert admin_http.get(reverse("admin:twenty_oauth_accesstoken_add")).status_code == 403
    assert admin_http.get(reverse("admin:twenty_oauth_consent_add")).status_code == 403
    change = reverse("admin:twenty_oauth_accesstoken_change", args=[access.pk])
    assert admin_http.post(change, {"scope": "api profile"}).status_code == 403
    assert (
        admin_http.get(reverse("admin:twenty_oauth_accesstoken_delete", args=[access.pk])).status_code == 403
    )
    assert AccessToken.objects.get().scope == "api"
    page = admin_http.get(reverse("admin:twenty_oauth_accesstoken_changelist")).content.decode()
    assert "delete_selected" not in page


def test_revoke_consent_action(admin_http, user, granted):
    client, secret, body = granted
    consent = Consent.objects.get()
    response = run_action(admin_http, "revoke", consent)
    assert "Revoked 1 consent." in admin_http.get(response["Location"]).content.decode()
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert api(admin_http, body["access_token"]).status_code == 401
    revoked = admin_http.get(reverse("admin:twenty_oauth_consent_changelist"), {"status": "revoked"})
    assert "Granted App" in revoked.content.decode()
    active = admin_http.get(reverse("admin:twenty_oauth_consent_changelist"), {"status": "active"})
    assert "Granted App" not in active.content.decode()


def test_revoke_access_token_action(admin_http, granted):
    _, _, body = granted
    response = run_action(admin_http, "revoke", AccessToken.objects.get())
    assert "Revoked 1 access token." in admin_http.get(response["Location"]).content.decode()
    assert api(admin_http, body["access_token"]).status_code == 401
    live = admin_http.get(reverse("admin:twenty_oauth_accesstoken_changelist"), {"status": "live"})
    assert "Granted App" not in live.content.decode()


def test_revoke_refresh_token_action_ends_its_grant(admin_http, granted):
    client, secret, body = granted
    response = run_action(admin_http, "revoke", RefreshToken.objects.get())
    assert "Revoked 1 grant." in admin_http.get(response["Location"]).content.decode()
    assert api(admin_http, body["access_token"]).status_code == 401
    refresh = token_request(admin_http, refresh_request(client, body["refresh_token"], secret))
    assert refresh.json()["error"] == "invalid_grant"


def test_revoke_grant_action(admin_http, granted):
    _, _, body = granted
    response = run_action(admin_http, "revoke", TokenFamily.objects.get())
    assert response.status_code == 302
    assert api(admin_http, body["access_token"]).status_code == 401


def test_view_only_staff_sees_tokens_but_cannot_revoke(client, granted):
    _, _, body = granted
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_accesstoken"))
    client.force_login(viewer)
    page = client.get(reverse("admin:twenty_oauth_accesstoken_changelist"))
    assert page.status_code == 200 and "Granted App" in page.content.decode()
    assert 'value="revoke"' not in page.content.decode()
    run_action(client, "revoke", AccessToken.objects.get())
    assert AccessToken.objects.get().revoked_at is None
    assert api(client, body["access_token"]).status_code == 200


@pytest.mark.parametrize(
    "action",
    ["rotate_secret", "revoke_tokens", "allow_client_credentials", "forbid_client_credentials", "deactivate"],
)
def test_view_only_staff_cannot_run_client_actions(client, user, action):
    oauth_client, secret = make_client(
        source=Client.Source.DYNAMIC, grant_types=["authorization_code", "client_credentials"]
    )
    body = code_tokens(client, user, oauth_client, secret)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_client"))
    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200 and oauth_client.client_name in page.content.decode()
    assert f'value="{action}"' not in page.content.decode()
    response = run_action(client, action, oauth_client)
    assert response.status_code in (200, 302)  # the list again, or back to it: nothing was run
    assert 'class="client-secret"' not in response.content.decode()
    after = Client.objects.get(pk=oauth_client.pk)
    assert after.client_secret_digest == opaque.digest(secret)
    assert after.is_active and not after.client_credentials_allowed
    assert api(client, body["access_token"]).status_code == 200


def test_signing_key_page_never_shows_the_private_key(admin_http, granted):
    key = SigningKey.objects.get()
    page = admin_http.get(reverse("admin:twenty_oauth_signingkey_change", args=[key.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and key.kid in html
    assert "PRIVATE KEY" not in html
    assert key_encryption.decrypt(key.private_key, key.kid).splitlines()[1] not in html
    assert key.private_key not in html and key.private_key[len("enc:v1:") :][:40] not in html


def test_create_a_public_device_client(admin_http, client, user):
    """The form offers the device grant (RFC 8628); such a client needs no redirect URI."""
    response = admin_http.post(
        reverse("admin:twenty_oauth_client_add"),
        add_form(
            client_name="Lobby Screen",
            token_endpoint_auth_method="none",
            grant_types_choice=[DEVICE_CODE, "refresh_token"],
            redirect_uris_text="",
        ),
    )
    assert response.status_code == 302, response.content
    screen = Client.objects.get(client_name="Lobby Screen")
    assert screen.grant_types == [DEVICE_CODE, "refresh_token"] and screen.redirect_uris == []
    assert "refresh_token" in device_tokens(client, user, screen)


def test_dpop_bound_access_tokens_in_the_form(admin_http):
    """RFC 9449 §5.2: staff set what a client could register, under the same rule."""
    form = add_form(
        dpop_bound_access_tokens="on",
        token_endpoint_auth_method="none",
        grant_types_choice=["authorization_code"],
    )
    response = admin_http.post(reverse("admin:twenty_oauth_client_add"), form)
    assert response.status_code == 302
    client = Client.objects.get(client_name="Billing Sync")
    assert client.dpop_bound_access_tokens is True
    page = admin_http.get(reverse("admin:twenty_oauth_client_change", args=[client.pk]))
    assert 'name="dpop_bound_access_tokens"' in page.content.decode()
