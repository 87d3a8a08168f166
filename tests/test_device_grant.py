"""
The device authorization grant (RFC 8628) through HTTP: a device asks for codes at
``/oauth/device_authorization``, a person approves on ``/oauth/device``, the device polls the
token endpoint and gets tokens; registration, metadata, the authorized-apps page, cleanup and
the admin know it.
"""

from __future__ import annotations

import json
import re
from io import StringIO
from urllib.parse import urlsplit

import jwt
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from tests.conftest import (
    DEVICE_CODE,
    api,
    api_status,
    basic,
    confirm_device,
    decide_device,
    device_authorization,
    device_poll,
    device_tokens,
    query_of,
    refresh,
    start_device,
)
from tests.factories import DeviceGrantFactory, UserFactory, make_client
from twenty_oauth.models import Client, Consent, DeviceGrant, TokenFamily
from twenty_oauth.protocol import opaque

pytestmark = pytest.mark.django_db

USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")
ANSWER = {
    "device_code",
    "user_code",
    "verification_uri",
    "verification_uri_complete",
    "expires_in",
    "interval",
}


@pytest.fixture
def device_confidential(db):
    """A confidential client registered for the device grant, with client_secret_basic, and its secret."""
    return make_client(
        client_name="Living Room TV",
        token_endpoint_auth_method="client_secret_basic",
        grant_types=[DEVICE_CODE, "refresh_token"],
        redirect_uris=[],
    )


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def assert_page_is_private(response) -> None:
    """RFC 9700 §4.16: never framed; never cached."""
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


# --- the device authorization endpoint (RFC 8628 §3.1-§3.2) ------------------------------------


def test_rfc8628_3_2_device_authorization_response(client, device_client):
    response = device_authorization(client, {"client_id": device_client.client_id, "scope": "api profile"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert_no_store(response)
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert set(body) == ANSWER
    assert USER_CODE.fullmatch(body["user_code"])
    assert body["verification_uri"] == "http://testserver/oauth/device"
    assert (
        body["verification_uri_complete"] == f"http://testserver/oauth/device?user_code={body['user_code']}"
    )
    assert (body["expires_in"], body["interval"]) == (600, 5)
    assert len(body["device_code"]) >= 43

    grant = DeviceGrant.objects.get()
    assert grant.device_code_digest == opaque.digest(body["device_code"])
    assert grant.user_code_digest == opaque.digest(body["user_code"].replace("-", ""))
    stored = json.dumps(DeviceGrant.objects.values().get(), default=str)
    assert body["device_code"] not in stored and body["user_code"].replace("-", "") not in stored
    assert (grant.scope, grant.resource, grant.interval, grant.user) == ("api profile", [], 5, None)
    assert str(grant) == f"device grant #{grant.pk} for {device_client.pk}"


@override_settings(TWENTY_OAUTH={"DEVICE_CODE_LIFETIME": 900, "DEVICE_CODE_INTERVAL": 8})
def test_lifetime_and_interval_come_from_the_settings(client, device_client):
    body = start_device(client, device_client)
    assert (body["expires_in"], body["interval"]) == (900, 8)
    grant = DeviceGrant.objects.get()
    assert round((grant.expires_at - grant.created_at).total_seconds()) == 900 and grant.interval == 8


def test_confidential_clients_authenticate_as_at_the_token_endpoint(client, device_confidential):
    oauth_client, secret = device_confidential
    scope = {"scope": "api"}
    response = device_authorization(client, scope, HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret))
    assert response.status_code == 200, response.content
    wrong = device_authorization(client, scope, HTTP_AUTHORIZATION=basic(oauth_client.client_id, "guess"))
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    assert wrong["WWW-Authenticate"] == 'Basic realm="oauth"'
    no_secret = device_authorization(client, {"client_id": oauth_client.client_id})
    assert (no_secret.status_code, no_secret.json()["error"]) == (401, "invalid_client")
    unknown = device_authorization(client, {"client_id": "nobody"})
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    assert DeviceGrant.objects.count() == 1


def test_scopes_as_for_an_authorization_request(client, device_client):
    """RFC 6749 §3.3: omitted means DEFAULT_SCOPES; unknown is invalid_scope."""
    start_device(client, device_client)
    assert DeviceGrant.objects.get().scope == "api"
    refused = device_authorization(client, {"client_id": device_client.client_id, "scope": "api admin"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_scope",
        "error_description": "Unknown or not allowed scope: admin.",
    }
    assert_no_store(refused)
    narrow, _ = make_client(
        token_endpoint_auth_method="none", grant_types=[DEVICE_CODE], redirect_uris=[], scope="profile"
    )
    outside = device_authorization(client, {"client_id": narrow.client_id, "scope": "api"})
    assert (outside.status_code, outside.json()["error"]) == (400, "invalid_scope")
    assert DeviceGrant.objects.count() == 1


def test_rfc8707_resource_indicators_bind_the_tokens(client, user, device_client):
    mcp = "http://testserver/mcp"
    body = device_tokens(client, user, device_client, resource=mcp)
    assert DeviceGrant.objects.get().resource == [mcp]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == mcp
    assert api_status(client, body["access_token"]) == 401  # minted for /mcp, not for the API
    foreign = device_authorization(
        client, {"client_id": device_client.client_id, "resource": "https://other.example/api"}
    )
    assert (foreign.status_code, foreign.json()["error"]) == (400, "invalid_target")


def test_a_client_not_registered_for_the_grant_is_unauthorized(client, public):
    response = device_authorization(client, {"client_id": public.client_id})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    poll = device_poll(client, public, "anything")
    assert (poll.status_code, poll.json()["error"]) == (400, "unauthorized_client")
    assert not DeviceGrant.objects.exists()


def test_parameters_come_from_the_form_body_only(client, device_client):
    query = client.post(
        f"/oauth/device_authorization?client_id={device_client.client_id}",
        "",
        content_type="application/x-www-form-urlencoded",
    )
    assert query.status_code == 400
    assert query.json()["error"] == "invalid_request"
    assert "POST body only" in query.json()["error_description"]
    get = client.get("/oauth/device_authorization")
    assert (get.status_code, get["Allow"]) == (405, "POST, OPTIONS")
    as_json = client.post(
        "/oauth/device_authorization", {"client_id": device_client.client_id}, content_type="application/json"
    )
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert not DeviceGrant.objects.exists()


# --- the person's side (RFC 8628 §3.3) and the device's polls (§3.4-§3.5) -----------------------


def test_the_whole_flow_a_person_approves_and_the_device_gets_tokens(client, user, device_client):
    started = start_device(client, device_client, scope="api profile")
    pending = device_poll(client, device_client, started["device_code"])
    assert pending.status_code == 400
    assert pending.json() == {
        "error": "authorization_pending",
        "error_description": "The user has not approved the request yet.",
    }
    assert_no_store(pending)

    # Opening verification_uri_complete: sign in first, and come back with the code.
    complete = urlsplit(started["verification_uri_complete"])
    page_url = f"{complete.path}?{complete.query}"
    anonymous = client.get(page_url)
    assert anonymous.status_code == 302
    assert urlsplit(anonymous["Location"]).path == "/accounts/login/"
    assert query_of(anonymous["Location"])["next"] == page_url

    client.force_login(user)
    form = client.get(page_url)
    assert form.status_code == 200
    assert_page_is_private(form)
    html = form.content.decode()
    assert f'value="{started["user_code"]}"' in html
    assert "Check that this is the code your device shows" in html
    assert "signed_grant" not in form.context or not form.context.get("signed_grant")
    assert DeviceGrant.objects.get().approved_at is None  # §5.4: opening the link approves nothing

    # Typed in lower case and without the dash (§6.1), the code still finds its grant.
    typed = started["user_code"].replace("-", "").lower()
    consent = client.post("/oauth/device", {"user_code": typed})
    assert consent.status_code == 200
    assert_page_is_private(consent)
    html = consent.content.decode()
    assert "Example CLI wants to access your account from a device" in html
    assert "A device will get access to your account." in html
    assert f'<span class="user-code">{started["user_code"]}</span>' in html
    assert consent.context["scopes"] == [
        ("api", "Read and write your data through the API"),
        ("profile", "See your name, username and email address"),
    ]
    assert f"Signed in as <strong>{user.username}</strong>" in html
    assert 'name="grant"' in html and "csrfmiddlewaretoken" in html

    done = client.post("/oauth/device", {"grant": consent.context["signed_grant"], "allow": "1"})
    assert done.status_code == 200
    assert_page_is_private(done)
    assert "Device connected" in done.content.decode()
    grant = DeviceGrant.objects.get()
    assert grant.user == user and grant.approved_at is not None and grant.used_at is None

    response = device_poll(client, device_client, started["device_code"])
    assert response.status_code == 200, response.content
    assert_no_store(response)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["scope"]) == ("Bearer", "api profile")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["client_id"], claims["aud"]) == (
        str(user.pk),
        device_client.client_id,
        "http://testserver",
    )
    assert [company["name"] for company in api(client, body["access_token"]).json()][:1] == ["Airbnb"]
    assert DeviceGrant.objects.get().used_at is not None
    assert TokenFamily.objects.get().device_grant_id == grant.pk

    refreshed = refresh(client, device_client, None, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["refresh_token"] != body["refresh_token"]


def test_a_confidential_device_with_client_secret_basic(client, user, device_confidential):
    oauth_client, secret = device_confidential
    header = {"HTTP_AUTHORIZATION": basic(oauth_client.client_id, secret)}
    started = device_authorization(client, {"scope": "api"}, **header).json()
    assert decide_device(client, user, started["user_code"]).status_code == 200
    response = client.post(
        "/oauth/token",
        f"grant_type={DEVICE_CODE}&device_code={started['device_code']}",
        content_type="application/x-www-form-urlencoded",
        **header,
    )
    assert response.status_code == 200, response.content
    assert api_status(client, response.json()["access_token"]) == 200


def test_rfc8628_3_5_a_denied_request_is_access_denied(client, user, device_client):
    started = start_device(client, device_client)
    done = decide_device(client, user, started["user_code"], approve=False)
    assert done.status_code == 200
    assert "Access denied" in done.content.decode()
    response = device_poll(client, device_client, started["device_code"])
    assert response.status_code == 400  # a token error (RFC 6749 §5.2), not the 403 of a page
    assert response.json() == {"error": "access_denied", "error_description": "The user denied the request."}
    assert not Consent.objects.exists() and not TokenFamily.objects.exists()


def test_refresh_tokens_only_for_clients_registered_for_them(client, user):
    device_only, _ = make_client(
        token_endpoint_auth_method="none", grant_types=[DEVICE_CODE], redirect_uris=[]
    )
    body = device_tokens(client, user, device_only)
    assert "refresh_token" not in body
    assert api_status(client, body["access_token"]) == 200


def test_the_person_must_sign_in_before_posting(client, device_client):
    started = start_device(client, device_client)
    response = client.post("/oauth/device", {"user_code": started["user_code"]})
    assert response.status_code == 400
    assert "Your session has ended" in response.content.decode()
    assert DeviceGrant.objects.get().approved_at is None


def test_a_wrong_code_says_so_and_keeps_what_was_typed(client, user, device_client):
    start_device(client, device_client)
    response = confirm_device(client, user, "BBBB-BBBB")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This code is not valid, or it has expired or been used." in html
    assert 'value="BBBB-BBBB"' in html and 'aria-invalid="true"' in html
    malformed = confirm_device(client, user, "hello")
    assert malformed.status_code == 400
    assert "A code has 8 letters" in malformed.content.decode()
    assert DeviceGrant.objects.get().approved_at is None


def test_a_link_with_a_malformed_code_fills_nothing_in(client, user):
    client.force_login(user)
    page = client.get("/oauth/device", {"user_code": '"><script>alert(1)</script>'})
    assert page.status_code == 200
    assert "<script>alert" not in page.content.decode()
    assert page.context["user_code"] == ""


def test_not_you_signs_out_and_comes_back_to_the_code(client, user, device_client):
    started = start_device(client, device_client)
    consent = confirm_device(client, user, started["user_code"])
    assert consent.context["switch_user_next"] == f"/oauth/device?user_code={started['user_code']}"
    response = client.post(reverse("twenty_oauth:switch-user"), {"next": consent.context["switch_user_next"]})
    assert response.status_code == 302
    assert query_of(response["Location"])["next"] == f"/oauth/device?user_code={started['user_code']}"
    assert client.get("/oauth/device").status_code == 302  # signed out


def test_under_a_prefix_the_device_page_moves_with_the_endpoints(client, user, device_client):
    with override_settings(ROOT_URLCONF="tests.mounts.prefix"):
        metadata = client.get("/.well-known/oauth-authorization-server").json()
        assert (
            metadata["device_authorization_endpoint"] == "http://testserver/auth/oauth/device_authorization"
        )
        response = client.post(
            "/auth/oauth/device_authorization",
            f"client_id={device_client.client_id}",
            content_type="application/x-www-form-urlencoded",
        )
        started = response.json()
        assert started["verification_uri"] == "http://testserver/auth/oauth/device"
        client.force_login(user)
        consent = client.post("/auth/oauth/device", {"user_code": started["user_code"]})
        assert consent.status_code == 200
        assert 'action="/auth/oauth/device"' in consent.content.decode()
        done = client.post("/auth/oauth/device", {"grant": consent.context["signed_grant"], "allow": "1"})
        assert done.status_code == 200
        token = client.post(
            "/auth/oauth/token",
            f"grant_type={DEVICE_CODE}&device_code={started['device_code']}&client_id={device_client.client_id}",
            content_type="application/x-www-form-urlencoded",
        )
        assert token.status_code == 200, token.content


def test_the_device_pages_are_translated(client, user, device_client):
    started = start_device(client, device_client)
    client.force_login(user)
    with translation.override("fr"):
        form = client.get("/oauth/device").content.decode()
        consent = client.post("/oauth/device", {"user_code": started["user_code"]}).content.decode()
        wrong = client.post("/oauth/device", {"user_code": "BBBBBBBB"}).content.decode()
    assert '<html lang="fr" dir="ltr">' in form
    assert "Connecter un appareil" in form
    assert "Example CLI demande l’accès à votre compte depuis un appareil" in consent
    assert "Un appareil aura accès à votre compte." in consent
    assert ">Autoriser</button>" in consent
    assert "Ce code n’est pas valide" in wrong


# --- what else knows device grants --------------------------------------------------------------


def test_registration_accepts_the_device_grant(client):
    response = client.post(
        "/oauth/register",
        {
            "client_name": "My CLI",
            "grant_types": [DEVICE_CODE, "refresh_token"],
            "token_endpoint_auth_method": "none",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["grant_types"] == [DEVICE_CODE, "refresh_token"]
    assert body["response_types"] == [] and body["redirect_uris"] == []
    registered = Client.objects.get(client_id=body["client_id"])
    assert registered.can_use_grant(DEVICE_CODE) and registered.can_use_grant("refresh_token")
    assert not registered.can_use_grant("authorization_code")
    assert start_device(client, registered)["user_code"]


def test_the_management_command_makes_a_device_client(client, user):
    out = StringIO()
    call_command(
        "oauth_create_client",
        "--name",
        "Kiosk",
        "--auth-method",
        "none",
        "--grant-type",
        DEVICE_CODE,
        "--json",
        stdout=out,
    )
    info = json.loads(out.getvalue())
    assert info["grant_types"] == [DEVICE_CODE]
    kiosk = Client.objects.get(client_id=info["client_id"])
    assert api_status(client, device_tokens(client, user, kiosk)["access_token"]) == 200


def test_the_authorized_apps_page_lists_and_revokes_a_device(client, user, device_client):
    body = device_tokens(client, user, device_client)
    page = client.get("/oauth/apps")
    assert "Example CLI" in page.content.decode()
    consent = Consent.objects.get(user=user, client=device_client)
    assert consent.scope == "api"
    revoked = client.post("/oauth/apps", {"consent": consent.pk})
    assert revoked.status_code == 303
    assert api_status(client, body["access_token"]) == 401
    again = refresh(client, device_client, None, body["refresh_token"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_revoking_the_app_before_the_device_polls_ends_the_approved_grant(client, user, device_client):
    """Like a code not yet redeemed (RFC 9700 §4.14.2): approved, then revoked, it issues nothing."""
    started = start_device(client, device_client)
    decide_device(client, user, started["user_code"])
    client.post("/oauth/apps", {"consent": Consent.objects.get().pk})
    response = device_poll(client, device_client, started["device_code"])
    assert (response.status_code, response.json()["error"]) == (400, "expired_token")
    assert not TokenFamily.objects.exists()


def test_a_deactivated_person_ends_the_approved_grant(client, user, device_client):
    started = start_device(client, device_client)
    decide_device(client, user, started["user_code"])
    user.is_active = False
    user.save()
    response = device_poll(client, device_client, started["device_code"])
    assert (response.status_code, response.json()["error"]) == (400, "expired_token")


def test_cleanup_deletes_expired_device_grants(client, user, device_client, clock):
    body = device_tokens(client, user, device_client)
    start_device(client, device_client)
    clock.advance(600 + 5 * 60 + 1)
    out = StringIO()
    call_command("oauth_cleanup", stdout=out)
    assert "Deleted 2 expired device grants." in out.getvalue()
    assert not DeviceGrant.objects.exists()
    assert TokenFamily.objects.get().device_grant is None  # the grant's tokens live on
    assert refresh(client, device_client, None, body["refresh_token"]).status_code == 200


def test_cleanup_keeps_a_registration_a_device_is_using(db, clock):
    grant = DeviceGrantFactory(client__source=Client.Source.DYNAMIC)
    clock.advance(31 * 86400)
    out = StringIO()
    call_command("oauth_cleanup", "--dry-run", stdout=out)
    assert "Would delete 0 unused registrations." in out.getvalue()
    assert Client.objects.filter(pk=grant.client_id).exists()


def test_the_admin_lists_device_grants_without_their_codes(client, user):
    approved, device_code, user_code = DeviceGrantFactory.with_codes(
        approved=True, client__client_name="Kiosk App"
    )
    pending, other_device_code, other_user_code = DeviceGrantFactory.with_codes(client=approved.client)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    listing = client.get(reverse("admin:twenty_oauth_devicegrant_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Kiosk App" in html and "approved" in html and "pending" in html
    detail = client.get(reverse("admin:twenty_oauth_devicegrant_change", args=[approved.pk]))
    assert detail.status_code == 200
    for page in (html, detail.content.decode()):
        for secret in (device_code, user_code, other_device_code, other_user_code):
            assert secret not in page
        for digest in (approved.device_code_digest, approved.user_code_digest, pending.user_code_digest):
            assert digest not in page
    assert client.get(reverse("admin:twenty_oauth_devicegrant_add")).status_code == 403
    change = reverse("admin:twenty_oauth_devicegrant_change", args=[pending.pk])
    assert client.post(change, {"scope": "api profile"}).status_code == 403
    assert DeviceGrant.objects.get(pk=pending.pk).scope == "api"


# --- the single-use write, on every path of twenty_oauth.writes ---------------------------------


@pytest.fixture(params=["native", "orm"])
def write_path(request, monkeypatch):
    """The database's own write (one statement on PostgreSQL, compiled SQL on SQLite), or the ORM's."""
    from twenty_oauth import writes

    if request.param == "orm":
        monkeypatch.setattr(writes, "_in_statements", writes._through_the_orm)
        monkeypatch.setattr(writes, "_in_one_statement", writes._through_the_orm)
    return request.param


def test_only_an_approved_grant_is_spent(client, user, device_client, write_path, monkeypatch):
    """
    The spend itself requires ``approved_at`` (``writes.Spend.still_set``): a grant read as
    approved whose row is not (as a stale read would see it) issues nothing.
    """
    from twenty_oauth.protocol.grants import device_code

    started = start_device(client, device_client)
    grant = DeviceGrant.objects.get()
    lookup = device_code._grant_record.get

    def read_as_approved(value):
        found = lookup(value)
        found.user, found.approved_at = user, grant.created_at
        return found

    monkeypatch.setattr(device_code._grant_record, "get", read_as_approved)
    response = device_poll(client, device_client, started["device_code"])
    assert (response.status_code, response.json()["error"]) == (400, "expired_token")
    assert DeviceGrant.objects.get().used_at is None
    assert not TokenFamily.objects.exists()

    monkeypatch.setattr(device_code._grant_record, "get", lookup)
    decide_device(client, user, started["user_code"])
    first = device_poll(client, device_client, started["device_code"])
    assert first.status_code == 200, first.content
    assert TokenFamily.objects.get().device_grant_id == grant.pk
    again = device_poll(client, device_client, started["device_code"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert TokenFamily.objects.count() == 1


def test_a_deactivated_client_is_refused_its_approved_device_code(client, user, device_client):
    """The client row read with the device code is checked as the client's own lookup would be."""
    started = start_device(client, device_client)
    decide_device(client, user, started["user_code"])
    Client.objects.filter(pk=device_client.pk).update(is_active=False)
    response = device_poll(client, device_client, started["device_code"])
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert DeviceGrant.objects.get().used_at is None
