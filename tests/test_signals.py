"""Audit signals and the ``twenty_oauth`` log, from real HTTP flows: right arguments, no secret."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import (
    DEVICE_CODE,
    REDIRECT,
    authorize,
    basic,
    code_tokens,
    configure,
    decide_device,
    device_poll,
    form,
    obtain_code,
    pkce_pair,
    query_of,
    refresh_request,
    register,
    start_device,
    token_request,
)
from tests.factories import UserFactory, make_client
from twenty_oauth import signals
from twenty_oauth.models import Client, Consent

SIGNALS = [
    "client_registered",
    "consent_granted",
    "consent_denied",
    "consent_revoked",
    "tokens_issued",
    "token_revoked",
    "refresh_token_reused",
    "client_authentication_failed",
]
#: A client's management of itself (RFC 7592) and staff's changes to it.
CLIENT_SIGNALS = ["client_updated", "client_deleted"]
IP = "127.0.0.1"  # the Django test client's REMOTE_ADDR


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []
        self._receivers = {}
        for name in SIGNALS + CLIENT_SIGNALS:
            receiver = self._receiver(name)
            self._receivers[name] = receiver
            getattr(signals, name).connect(receiver, weak=False)

    def _receiver(self, name):
        def receive(sender, signal, **kwargs):
            self.sent.append((name, kwargs))

        return receive

    def disconnect(self) -> None:
        for name, receiver in self._receivers.items():
            getattr(signals, name).disconnect(receiver)

    def of(self, name: str) -> list[dict]:
        return [kwargs for sent, kwargs in self.sent if sent == name]

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]


@pytest.fixture
def sent():
    recorder = Recorder()
    yield recorder
    recorder.disconnect()


@pytest.fixture
def audit_log(caplog):
    caplog.set_level(logging.INFO, logger="twenty_oauth")
    return caplog


def records(caplog, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "twenty_oauth" and getattr(r, "event", None) == event]


def assert_nothing_secret(caplog, *values: str) -> None:
    """No secret, code or token in any message, argument or attribute of any twenty_oauth record."""
    texts = []
    for record in caplog.records:
        if record.name.startswith("twenty_oauth"):
            texts.append(record.getMessage())
            texts.extend(str(v) for v in record.__dict__.values())
    joined = "\n".join(texts)
    assert texts
    for value in values:
        assert value and value not in joined, value


def test_a_whole_lifecycle_sends_each_signal_and_logs_no_secret(client, user, sent, audit_log):
    registered = client.post(
        "/oauth/register",
        {
            "client_name": "Lifecycle",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "client_secret_post",
        },
        content_type="application/json",
    )
    info = registered.json()
    oauth_client = Client.objects.get(client_id=info["client_id"])
    secret = info["client_secret"]
    assert sent.of("client_registered") == [{"client": oauth_client, "ip": IP}]

    # Consent denied, then granted; the code is exchanged, then refreshed.
    denied = authorize(client, user, oauth_client, approve=False)
    assert query_of(denied["Location"])["error"] == "access_denied"
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge, scope="api profile")
    issued = token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": oauth_client.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        },
    ).json()
    first_refresh = issued["refresh_token"]
    refreshed = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": first_refresh,
            "client_id": oauth_client.client_id,
            "client_secret": secret,
        },
    ).json()
    assert sent.of("consent_denied") == [{"client": oauth_client, "user": user, "scopes": ["api"], "ip": IP}]
    assert sent.of("consent_granted") == [
        {"client": oauth_client, "user": user, "scopes": ["api", "profile"], "ip": IP}
    ]
    assert sent.of("tokens_issued") == [
        {
            "client": oauth_client,
            "user": user,
            "grant_type": "authorization_code",
            "scopes": ["api", "profile"],
            "ip": IP,
        },
        {
            "client": oauth_client,
            "user": user,
            "grant_type": "refresh_token",
            "scopes": ["api", "profile"],
            "ip": IP,
        },
    ]

    # The spent refresh token comes back: reuse is detected and the grant ends.
    reused = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": first_refresh,
            "client_id": oauth_client.client_id,
            "client_secret": secret,
        },
    )
    assert reused.json()["error"] == "invalid_grant"
    assert sent.of("refresh_token_reused") == [{"client": oauth_client, "user": user, "ip": IP}]

    # A wrong secret, then a revocation of a fresh grant's tokens at /oauth/revoke.
    wrong = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": refreshed["refresh_token"],
            "client_id": oauth_client.client_id,
            "client_secret": "not-the-secret-" + secret[:8],
        },
    )
    assert wrong.status_code == 401
    assert sent.of("client_authentication_failed") == [
        {"client_id": oauth_client.client_id, "reason": "wrong secret", "ip": IP}
    ]
    fresh = code_tokens(client, user, oauth_client, secret)
    for value in (fresh["access_token"], fresh["refresh_token"]):
        response = client.post(
            "/oauth/revoke",
            form({"token": value, "client_id": oauth_client.client_id, "client_secret": secret}),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    assert sent.of("token_revoked") == [
        {"client": oauth_client, "user": user, "token_type": "access_token", "ip": IP},
        {"client": oauth_client, "user": user, "token_type": "refresh_token", "ip": IP},
    ]

    # The user withdraws the app from the authorized-apps page.
    client.force_login(user)
    consent = Consent.objects.get(user=user, client=oauth_client)
    assert client.post("/oauth/apps", {"consent": consent.pk}).status_code == 303
    assert sent.of("consent_revoked") == [{"client": oauth_client, "user": user, "ip": IP}]

    # Every event was logged with the client, the user and the address ...
    for event in SIGNALS:
        found = records(audit_log, event)
        assert found, event
        for record in found:
            assert record.client_id == oauth_client.client_id
            assert record.ip == IP
            assert f"client_id={oauth_client.client_id}" in record.getMessage()
            if event not in ("client_registered", "client_authentication_failed"):
                assert record.user_id == user.pk and f"user_id={user.pk}" in record.getMessage()
    assert {r.levelno for r in records(audit_log, "refresh_token_reused")} == {logging.WARNING}
    assert {r.levelno for r in records(audit_log, "client_authentication_failed")} == {logging.WARNING}
    assert {r.levelno for r in records(audit_log, "tokens_issued")} == {logging.INFO}
    # ... and nothing that would let someone act as the client or the user.
    assert_nothing_secret(
        audit_log,
        secret,
        "not-the-secret-" + secret[:8],
        code,
        verifier,
        issued["access_token"],
        issued["refresh_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
        fresh["access_token"],
        fresh["refresh_token"],
        oauth_client.client_secret_digest,
    )


def test_client_credentials_tokens_issued_has_no_user(client, service, sent, audit_log):
    oauth_client, secret = service
    response = token_request(
        client,
        {"grant_type": "client_credentials", "scope": "api"},
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert response.status_code == 200
    assert sent.of("tokens_issued") == [
        {
            "client": oauth_client,
            "user": None,
            "grant_type": "client_credentials",
            "scopes": ["api"],
            "ip": IP,
        }
    ]
    (record,) = records(audit_log, "tokens_issued")
    assert record.user_id is None and "user_id" not in record.getMessage()
    assert "grant_type=client_credentials" in record.getMessage()
    assert_nothing_secret(audit_log, secret, response.json()["access_token"])


def test_unknown_client_and_a_forged_log_line(client, db, sent, audit_log):
    forged = "nobody\ntokens_issued client_id=victim"
    response = token_request(
        client, {"grant_type": "client_credentials", "client_id": forged, "client_secret": "x"}
    )
    assert response.status_code == 401
    assert sent.of("client_authentication_failed") == [
        {"client_id": forged, "reason": "unknown client", "ip": IP}
    ]
    (record,) = records(audit_log, "client_authentication_failed")
    assert "\n" not in record.getMessage()
    assert 'client_id="nobody\\ntokens_issued client_id=victim"' in record.getMessage()
    assert 'reason="unknown client"' in record.getMessage()


def test_a_long_client_id_is_cut_in_the_log(client, db, audit_log):
    token_request(client, {"grant_type": "client_credentials", "client_id": "a" * 5000, "client_secret": "x"})
    (record,) = records(audit_log, "client_authentication_failed")
    assert len(record.getMessage()) < 400


def test_a_refused_metadata_document_url_cannot_forge_a_log_line(client, user, audit_log):
    forged = "https://x.example/a\ntokens_issued client_id=admin-console user_id=1 " + "b" * 5000
    client.force_login(user)
    response = client.get("/oauth/authorize", {"client_id": forged, "response_type": "code"})
    assert response.status_code == 400
    (record,) = [r for r in audit_log.records if r.name == "twenty_oauth.protocol.metadata_documents"]
    message = record.getMessage()
    assert "\n" not in message
    assert '"https://x.example/a\\ntokens_issued client_id=admin-console' in message
    assert len(message) < 600


def test_staff_actions_send_signals(client, user, sent, audit_log):
    oauth_client, secret = make_client(client_name="Staff managed")
    code_tokens(client, user, oauth_client, secret)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    sent.sent.clear()

    added = client.post(
        reverse("admin:twenty_oauth_client_add"),
        {
            "client_name": "Made in admin",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types_choice": ["client_credentials"],
            "is_active": "on",
            "_save": "Save",
        },
    )
    assert added.status_code == 200
    made = Client.objects.get(client_name="Made in admin")
    assert sent.of("client_registered") == [{"client": made, "ip": IP}]
    (record,) = records(audit_log, "client_registered")
    assert "source=admin" in record.getMessage()

    changelist = reverse("admin:twenty_oauth_client_changelist")
    action = {
        "action": "revoke_tokens",
        "index": 0,
        "select_across": 0,
        "_selected_action": [oauth_client.pk],
    }
    client.post(changelist, action)
    assert sent.of("token_revoked") == [{"client": oauth_client, "user": None, "token_type": "all", "ip": IP}]

    consent = Consent.objects.get(client=oauth_client)
    client.post(
        reverse("admin:twenty_oauth_consent_changelist"),
        {"action": "revoke", "index": 0, "select_across": 0, "_selected_action": [consent.pk]},
    )
    assert sent.of("consent_revoked") == [{"client": oauth_client, "user": user, "ip": IP}]
    assert_nothing_secret(audit_log, secret, made.client_secret_digest)


def test_a_client_managing_itself_sends_updated_and_deleted_and_logs_no_token(client, user, sent, audit_log):
    """RFC 7592: what changed, and the end of the client, for the audit; never its credentials."""
    answer = register(client, client_name="Self-managed", scope="api")
    oauth_client = Client.objects.get(client_id=answer["client_id"])
    uri, first_token = answer["registration_client_uri"], answer["registration_access_token"]
    code_tokens(client, user, oauth_client, answer["client_secret"])
    sent.sent.clear()

    refused = configure(client, "get", uri, "guess-" + first_token[:8])
    assert refused.status_code == 401
    missing = configure(client, "get", uri, None)
    assert missing.status_code == 401
    assert sent.of("client_authentication_failed") == [
        {"client_id": oauth_client.client_id, "reason": "wrong registration access token", "ip": IP},
        {"client_id": oauth_client.client_id, "reason": "no registration access token", "ip": IP},
    ]

    update = {
        "client_id": oauth_client.client_id,
        "client_name": "Renamed",
        "redirect_uris": ["https://app.example.com/other"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "api",
        "client_secret": answer["client_secret"],
    }
    updated = configure(client, "put", uri, first_token, update)
    assert updated.status_code == 200
    second_token = updated.json()["registration_access_token"]
    (change,) = sent.of("client_updated")
    assert change["client"].pk == oauth_client.pk
    assert change == {"client": change["client"], "fields": ["redirect_uris", "client_name"], "ip": IP}
    (record,) = records(audit_log, "client_updated")
    assert record.getMessage() == (
        f"client_updated client_id={oauth_client.client_id} fields=redirect_uris,client_name ip={IP}"
    )
    assert record.levelno == logging.INFO

    assert configure(client, "delete", uri, second_token).status_code == 204
    (deleted,) = sent.of("client_deleted")
    assert deleted["client"].pk == oauth_client.pk and deleted["ip"] == IP
    assert not deleted["client"].is_active
    assert sent.of("token_revoked") == [
        {"client": deleted["client"], "user": None, "token_type": "all", "ip": IP}
    ]
    (record,) = records(audit_log, "client_deleted")
    assert "source=dynamic" in record.getMessage()
    assert_nothing_secret(
        audit_log,
        first_token,
        second_token,
        answer["client_secret"],
        oauth_client.registration_access_token_digest,
        oauth_client.client_secret_digest,
    )


def test_staff_editing_and_deleting_a_client_send_updated_and_deleted(client, db, sent, audit_log):
    oauth_client, _ = make_client(client_name="Edited by staff")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {
        "client_name": "Edited by staff",
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types_choice": ["authorization_code"],
        "redirect_uris_text": REDIRECT,
        "scope": "api",
        "is_active": "on",
        "_save": "Save",
    }
    changed = client.post(reverse("admin:twenty_oauth_client_change", args=[oauth_client.pk]), form)
    assert changed.status_code == 302
    (change,) = sent.of("client_updated")
    assert change["client"].pk == oauth_client.pk
    assert change["fields"] == ["scope"]

    deleted = client.post(
        reverse("admin:twenty_oauth_client_delete", args=[oauth_client.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Client.objects.filter(pk=oauth_client.pk).exists()
    (gone,) = sent.of("client_deleted")
    assert gone == {"client": gone["client"], "ip": IP}
    assert gone["client"].client_id == oauth_client.client_id
    assert len(records(audit_log, "client_deleted")) == 1


def test_the_command_sends_client_registered(db, sent, audit_log):
    out = StringIO()
    call_command(
        "oauth_create_client", "--name", "From the shell", "--grant-type", "client_credentials", stdout=out
    )
    made = Client.objects.get(client_name="From the shell")
    assert sent.of("client_registered") == [{"client": made, "ip": ""}]
    (record,) = records(audit_log, "client_registered")
    assert "source=command" in record.getMessage() and "ip=" not in record.getMessage()
    secret = out.getvalue().split("client_secret:")[1].split()[0]
    assert_nothing_secret(audit_log, secret)


def test_receivers_can_forward_to_a_webhook(client, user, confidential):
    """The README's example: a receiver that queues a JSON event, never a token."""
    queued: list[dict] = []

    def forward(sender, client, user, grant_type, scopes, ip, **kwargs):
        queued.append(
            {"event": "tokens_issued", "client_id": client.client_id, "user_id": user and user.pk, "ip": ip}
        )

    signals.tokens_issued.connect(forward)
    try:
        oauth_client, secret = confidential
        body = code_tokens(client, user, oauth_client, secret)
    finally:
        signals.tokens_issued.disconnect(forward)
    assert queued == [
        {"event": "tokens_issued", "client_id": oauth_client.client_id, "user_id": user.pk, "ip": IP}
    ]
    assert body["access_token"] not in str(queued)


def test_a_deactivated_user_loses_every_grant_for_good(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret)
    other = UserFactory()
    others = code_tokens(client, other, oauth_client, secret)
    assert (
        client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").status_code == 200
    )

    user.is_active = False
    user.save()
    user.is_active = True
    user.save()
    # Reactivated, but the tokens of before stay revoked; other users keep theirs.
    assert (
        client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").status_code == 401
    )
    refreshed = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": oauth_client.client_id,
            "client_secret": secret,
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert (
        client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {others['access_token']}").status_code
        == 200
    )
    # The account can authorize again, and gets new tokens that work.
    fresh = code_tokens(client, user, oauth_client, secret)
    assert (
        client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {fresh['access_token']}").status_code == 200
    )


def test_the_device_grant_sends_consent_and_issue_signals_and_logs_no_code(client, user, sent, audit_log):
    """RFC 8628: the person's decision and the device's tokens are audited like the code flow's."""
    device, _ = make_client(
        client_name="Audited CLI",
        token_endpoint_auth_method="none",
        grant_types=[DEVICE_CODE, "refresh_token"],
        redirect_uris=[],
    )
    denied = start_device(client, device)
    decide_device(client, user, denied["user_code"], approve=False)
    assert sent.of("consent_denied") == [{"client": device, "user": user, "scopes": ["api"], "ip": IP}]

    started = start_device(client, device, scope="api profile")
    decide_device(client, user, started["user_code"])
    assert sent.of("consent_granted") == [
        {"client": device, "user": user, "scopes": ["api", "profile"], "ip": IP}
    ]
    body = device_poll(client, device, started["device_code"]).json()
    assert sent.of("tokens_issued") == [
        {"client": device, "user": user, "grant_type": DEVICE_CODE, "scopes": ["api", "profile"], "ip": IP}
    ]
    [line] = records(audit_log, "tokens_issued")
    assert f"grant_type={DEVICE_CODE}" in line.getMessage()
    assert_nothing_secret(
        audit_log,
        started["device_code"],
        started["user_code"],
        started["user_code"].replace("-", ""),
        denied["device_code"],
        body["access_token"],
        body["refresh_token"],
    )


@pytest.mark.parametrize("grant", ["client_credentials", "authorization_code", "refresh_token"])
def test_tokens_issued_hands_over_a_client_whose_every_field_reads(client, user, sent, grant):
    """
    The token endpoint reads a client without its registration metadata; a receiver that reads
    any of it still gets the stored value (loaded when read).
    """
    oauth_client, secret = make_client(
        grant_types=["authorization_code", "client_credentials"],
        contacts=["ops@example.com"],
        client_uri="https://app.example.com/",
    )
    if grant == "client_credentials":
        response = token_request(
            client,
            {"grant_type": "client_credentials", "scope": "api"},
            HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
        )
    else:
        body = code_tokens(client, user, oauth_client, secret)
        if grant == "refresh_token":
            response = token_request(client, refresh_request(oauth_client, body["refresh_token"], secret))
    if grant != "authorization_code":
        assert response.status_code == 200, response.content
    issued = sent.of("tokens_issued")[-1]["client"]
    assert issued.pk == oauth_client.pk
    assert issued.get_deferred_fields() == Client.REGISTRATION_METADATA
    assert (issued.contacts, issued.client_uri, issued.redirect_uris) == (
        ["ops@example.com"],
        "https://app.example.com/",
        oauth_client.redirect_uris,
    )
    assert issued.created_at == oauth_client.created_at
