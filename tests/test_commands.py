"""
``oauth_create_client``, ``oauth_cleanup`` and ``oauth_keys``, checked by what the server then
does over HTTP.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import REDIRECT, api, basic, code_tokens, obtain_code, pkce_pair, refresh, token_request
from tests.factories import AccessTokenFactory, ConsentFactory, UserFactory, make_client
from twenty_oauth import cleanup
from twenty_oauth.models import AccessToken, AuthorizationCode, Client, RefreshToken, SigningKey, TokenFamily
from twenty_oauth.protocol import keys, opaque


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- oauth_create_client ---------------------------------------------------------------------


def test_create_confidential_client_prints_id_and_secret_once(client, db):
    output = run("oauth_create_client", "--name", "Nightly export", "--grant-type", "client_credentials")
    client_id = re.search(r"^client_id:\s+(\S+)$", output, re.M).group(1)
    secret = re.search(r"^client_secret:\s+(\S+)$", output, re.M).group(1)
    assert "confidential client 'Nightly export'" in output
    assert "cannot be shown again" in output
    stored = Client.objects.get(client_id=client_id)
    assert stored.source == Client.Source.COMMAND
    assert stored.client_secret_digest == opaque.digest(secret)
    assert secret not in str(stored.__dict__)

    # A client made by the command may use client_credentials without an admin's approval.
    issued = token_request(
        client,
        {"grant_type": "client_credentials", "scope": "api"},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )
    assert issued.status_code == 200, issued.content
    assert api(client, issued.json()["access_token"]).status_code == 200
    wrong = token_request(
        client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret + "x")
    )
    assert wrong.status_code == 401


def test_create_public_client_as_json_and_run_the_code_flow(client, user):
    output = run(
        "oauth_create_client",
        "--name",
        "Desktop",
        "--auth-method",
        "none",
        "--redirect-uri",
        REDIRECT,
        "--redirect-uri",
        "http://127.0.0.1/callback",
        "--json",
    )
    info = json.loads(output)
    assert "client_secret" not in info
    assert info["token_endpoint_auth_method"] == "none"
    assert info["redirect_uris"] == [REDIRECT, "http://127.0.0.1/callback"]
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    oauth_client = Client.objects.get(client_id=info["client_id"])
    body = code_tokens(client, user, oauth_client)
    assert api(client, body["access_token"]).status_code == 200


def test_create_client_with_all_metadata(client, user):
    info = json.loads(
        run(
            "oauth_create_client",
            "--name",
            "CRM Sync",
            "--auth-method",
            "client_secret_post",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "client_credentials",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "api",
            "--client-uri",
            "https://crm.example.com/",
            "--logo-uri",
            "https://crm.example.com/logo.png",
            "--tos-uri",
            "https://crm.example.com/terms",
            "--policy-uri",
            "https://crm.example.com/privacy",
            "--contact",
            "ops@crm.example.com",
            "--contact",
            "dev@crm.example.com",
            "--software-id",
            "crm-sync",
            "--software-version",
            "2.1",
            "--json",
        )
    )
    assert len(info["client_secret"]) >= 43
    assert info["client_secret_expires_at"] == 0
    # Staff-made: managed by staff alone, with no registration access token (RFC 7592).
    assert "registration_access_token" not in info and "registration_client_uri" not in info
    assert not Client.objects.get(client_id=info["client_id"]).has_registration_access_token
    for name, value in {
        "client_name": "CRM Sync",
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
        "scope": "api",
        "client_uri": "https://crm.example.com/",
        "logo_uri": "https://crm.example.com/logo.png",
        "tos_uri": "https://crm.example.com/terms",
        "policy_uri": "https://crm.example.com/privacy",
        "contacts": ["ops@crm.example.com", "dev@crm.example.com"],
        "software_id": "crm-sync",
        "software_version": "2.1",
    }.items():
        assert info[name] == value, name
    oauth_client = Client.objects.get(client_id=info["client_id"])
    client.force_login(user)
    _, challenge = pkce_pair()
    page = client.get(
        "/oauth/authorize",
        {
            "client_id": oauth_client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    html = page.content.decode()
    assert "CRM Sync wants to access your account" in html
    assert "crm.example.com" in html and 'src="https://crm.example.com/logo.png"' in html
    # Scope "api" only: asking for profile is refused with a redirect to the client.
    denied = client.get(
        "/oauth/authorize",
        {
            "client_id": oauth_client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "profile",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert denied.status_code == 302 and "error=invalid_scope" in denied["Location"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redirect-uri", "http://evil.example.com/cb"], "loopback"),
        (["--redirect-uri", "https://x.example/cb#f"], "fragment"),
        ([], "redirect_uris: Required"),
        (["--auth-method", "none", "--grant-type", "client_credentials"], "public client"),
        (["--grant-type", "client_credentials", "--scope", "api admin"], "Unknown scope"),
        (["--grant-type", "client_credentials", "--logo-uri", "http://x.example/l.png"], "https"),
        (["--grant-type", "client_credentials", "--contact", "nobody"], "email"),
        # A byte that is not UTF-8 on the command line arrives as a lone surrogate.
        (["--redirect-uri", "https://a.example/caf\udce9"], "unpaired surrogate"),
        (["--grant-type", "client_credentials", "--name", "caf\udce9"], "unpaired surrogate"),
        (["--application-type", "web", "--redirect-uri", "http://127.0.0.1/cb"], "web client"),
        (["--application-type", "native", "--redirect-uri", "https://app.example/cb"], "native client"),
        (["--application-type", "desktop", "--redirect-uri", "https://app.example/cb"], "invalid choice"),
        (["--auth-method", "none", "--redirect-uri", REDIRECT, "--allow-introspection"], "public client"),
    ],
)
def test_create_client_refuses_bad_metadata(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("oauth_create_client", "--name", "Bad", *args)
    assert not Client.objects.exists()


def test_create_client_with_an_application_type(client, user):
    info = json.loads(
        run(
            "oauth_create_client",
            "--name",
            "Desktop",
            "--auth-method",
            "none",
            "--application-type",
            "native",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--json",
        )
    )
    assert info["application_type"] == "native"
    desktop = Client.objects.get(client_id=info["client_id"])
    assert desktop.application_type == Client.ApplicationType.NATIVE and not desktop.introspection_allowed
    body = code_tokens(client, user, desktop, redirect_uri="http://127.0.0.1:49152/callback")
    assert api(client, body["access_token"]).status_code == 200
    # Without the option, nothing is said and nothing is echoed.
    untyped = json.loads(run("oauth_create_client", "--redirect-uri", REDIRECT, "--json"))
    assert "application_type" not in untyped
    assert Client.objects.get(client_id=untyped["client_id"]).application_type == ""


def test_allow_introspection_makes_a_resource_server(client, user):
    app, app_secret = make_client(client_name="App")
    body = code_tokens(client, user, app, app_secret)
    tokens = (body["access_token"], body["refresh_token"])

    def described(info: dict, token: str) -> dict:
        response = client.post(
            "/oauth/introspect",
            f"token={token}",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic(info["client_id"], info["client_secret"]),
        )
        assert response.status_code == 200
        return response.json()

    args = ("oauth_create_client", "--grant-type", "client_credentials", "--json")
    allowed = json.loads(run(*args, "--name", "Reports API", "--allow-introspection"))
    assert Client.objects.get(client_id=allowed["client_id"]).introspection_allowed
    for token in tokens:
        answer = described(allowed, token)
        assert answer["active"] is True and answer["client_id"] == app.client_id
    # A staff-made client without the option learns nothing of other clients' tokens.
    plain = json.loads(run(*args, "--name", "Billing"))
    assert not Client.objects.get(client_id=plain["client_id"]).introspection_allowed
    for token in tokens:
        assert described(plain, token) == {"active": False}


def test_create_client_rejects_unknown_grant_type(db):
    with pytest.raises(CommandError, match="invalid choice"):
        run("oauth_create_client", "--grant-type", "password")


# --- oauth_cleanup ---------------------------------------------------------------------------


def ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def estate(client, user):
    """
    A server after some use: a live grant, a grant whose tokens all expired, a redeemed code
    long expired under a live grant, and self-registered clients of every kind.
    """
    live_client, live_secret = make_client(client_name="Live")
    live = code_tokens(client, user, live_client, live_secret)
    old_client, old_secret = make_client(client_name="Old")
    old = code_tokens(client, user, old_client, old_secret)
    AccessToken.objects.filter(client=old_client).update(expires_at=ago(days=2))
    RefreshToken.objects.filter(family__client=old_client).update(expires_at=ago(days=1))
    TokenFamily.objects.filter(client=old_client).update(created_at=ago(days=40))
    AuthorizationCode.objects.update(expires_at=ago(hours=1))
    _, challenge = pkce_pair()
    obtain_code(client, user, live_client, challenge=challenge)  # pending and unexpired: kept

    def registered(name, days, **changes):
        response = client.post(
            "/oauth/register",
            {"client_name": name, "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"},
            content_type="application/json",
        )
        assert response.status_code == 201
        found = Client.objects.get(client_id=response.json()["client_id"])
        Client.objects.filter(pk=found.pk).update(created_at=ago(days=days), **changes)
        return found

    clients = {
        "abandoned": registered("Abandoned", 31),
        "abandoned_long_ago": registered("Abandoned long ago", 400),
        "recent": registered("Recent", 10),
        "authorized": registered("Authorized", 60),
        "authenticated": registered("Authenticated", 60, last_used_at=ago(days=59)),
    }
    ConsentFactory(user=user, client=clients["authorized"])
    ancient_admin, _ = make_client(client_name="Admin made")
    Client.objects.filter(pk=ancient_admin.pk).update(created_at=ago(days=400))
    return {
        "live": (live_client, live_secret, live),
        "old": (old_client, old_secret, old),
        "clients": clients,
    }


def counts():
    return {
        "codes": AuthorizationCode.objects.count(),
        "access": AccessToken.objects.count(),
        "refresh": RefreshToken.objects.count(),
        "families": TokenFamily.objects.count(),
        "clients": Client.objects.count(),
    }


def test_cleanup_dry_run_counts_and_deletes_nothing(estate):
    before = counts()
    output = run("oauth_cleanup", "--dry-run")
    assert counts() == before
    assert "Would delete 2 expired authorization codes." in output
    assert "Would delete 1 expired access tokens." in output
    assert "Would delete 1 expired refresh tokens." in output
    assert "Would delete 1 ended grants." in output
    assert "Would delete 2 unused registrations." in output
    assert "7 rows would be deleted (dry run)." in output


def test_cleanup_deletes_what_expired_and_keeps_what_works(client, user, estate):
    live_client, live_secret, live = estate["live"]
    old_client, old_secret, old = estate["old"]
    before = counts()
    output = run("oauth_cleanup")
    assert "Deleted 2 expired authorization codes." in output
    assert "Deleted 1 expired access tokens." in output
    assert "Deleted 1 expired refresh tokens." in output
    assert "Deleted 1 ended grants." in output
    assert "Deleted 2 unused registrations." in output
    assert "7 rows deleted." in output
    assert counts() == {
        "codes": before["codes"] - 2,
        "access": before["access"] - 1,
        "refresh": before["refresh"] - 1,
        "families": before["families"] - 1,
        "clients": before["clients"] - 2,
    }
    registered = set(Client.objects.values_list("client_name", flat=True))
    assert registered == {"Live", "Old", "Recent", "Authorized", "Authenticated", "Admin made"}

    # The live grant still works end to end, though the code it came from is gone.
    assert api(client, live["access_token"]).status_code == 200
    rotated = refresh(client, live_client, live_secret, live["refresh_token"])
    assert rotated.status_code == 200, rotated.content
    assert api(client, rotated.json()["access_token"]).status_code == 200
    # The expired ones answer as unknown tokens.
    assert api(client, old["access_token"]).status_code == 401
    assert refresh(client, old_client, old_secret, old["refresh_token"]).json()["error"] == "invalid_grant"
    # A recent registration can still be authorized; a deleted one is unknown.
    recent = estate["clients"]["recent"]
    assert code_tokens(client, user, recent)["access_token"]
    client.force_login(user)
    gone = client.get(
        "/oauth/authorize",
        {
            "client_id": estate["clients"]["abandoned"].client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
        },
    )
    assert gone.status_code == 400
    # A second run finds nothing left to do.
    assert "0 rows deleted." in run("oauth_cleanup")


def test_cleanup_unused_client_days(estate):
    output = run("oauth_cleanup", "--unused-client-days", "0")
    assert "unused registrations" not in output
    assert Client.objects.filter(source=Client.Source.DYNAMIC).count() == 5
    output = run("oauth_cleanup", "--unused-client-days", "5")
    assert "Deleted 3 unused registrations." in output
    assert not Client.objects.filter(client_name__startswith="Abandoned").exists()
    assert not Client.objects.filter(client_name="Recent").exists()


def test_cleanup_keeps_rows_within_the_grace_period(client, user):
    oauth_client, secret = make_client()
    body = code_tokens(client, user, oauth_client, secret)
    AccessToken.objects.update(expires_at=ago(minutes=1))
    assert "Deleted 0 expired access tokens." in run("oauth_cleanup")
    AccessToken.objects.update(expires_at=ago(minutes=6))
    assert "Deleted 1 expired access tokens." in run("oauth_cleanup")
    assert api(client, body["access_token"]).status_code == 401


def test_cleanup_in_small_batches_never_loads_every_id(client, db):
    service, secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    for _ in range(23):
        issued = token_request(
            client,
            {"grant_type": "client_credentials", "client_id": service.client_id, "client_secret": secret},
        )
        assert issued.status_code == 200
    keep = token_request(
        client, {"grant_type": "client_credentials", "client_id": service.client_id, "client_secret": secret}
    ).json()["access_token"]
    AccessToken.objects.exclude(pk=AccessToken.objects.order_by("-pk").first().pk).update(
        expires_at=ago(hours=2)
    )
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("oauth_cleanup", "--batch-size", "5", "--verbosity", "2", stdout=out)
    output = out.getvalue()
    assert "Deleted 23 expired access tokens." in output
    assert "… 5 expired access tokens so far" in output and "… 20 expired access tokens so far" in output
    assert output.count("expired access tokens so far") == 5  # 5 + 5 + 5 + 5 + 3
    assert "Deleted 0 ended grants." in output  # just created: within the grace period
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert len(selects) >= 5
    for sql in selects:  # each look-up is bounded: one batch's keys, or the rows up to its last key
        assert "LIMIT 5" in sql or re.search(r'"id" <= \d+', sql) or re.search(r"IN \(", sql), sql
    assert AccessToken.objects.count() == 1
    assert api(client, keep).status_code == 200
    # Client-credentials tokens are grants by themselves: no family was left behind to end.
    assert not TokenFamily.objects.exists()


def test_ended_grants_go_with_their_tokens_in_one_pass(client, user):
    oauth_client, secret = make_client()
    body = code_tokens(client, user, oauth_client, secret)
    rotated = refresh(client, oauth_client, secret, body["refresh_token"]).json()
    ended = code_tokens(client, user, oauth_client, secret)
    TokenFamily.objects.update(created_at=ago(days=40))
    # The first grant lives on: its first access token and spent refresh token expired.
    first_family = AccessToken.objects.order_by("pk").first().family_id
    AccessToken.objects.filter(family_id=first_family).exclude(
        pk=AccessToken.objects.filter(family_id=first_family).order_by("-pk").first().pk
    ).update(expires_at=ago(hours=1))
    RefreshToken.objects.filter(family_id=first_family, used_at__isnull=False).update(expires_at=ago(hours=1))
    # The second grant is over: every token of it expired.
    AccessToken.objects.exclude(family_id=first_family).update(expires_at=ago(hours=1))
    RefreshToken.objects.exclude(family_id=first_family).update(expires_at=ago(hours=1))

    output = run("oauth_cleanup", "--batch-size", "1")
    assert "Deleted 1 ended grants." in output
    assert "Deleted 2 expired access tokens." in output
    assert "Deleted 2 expired refresh tokens." in output
    assert api(client, rotated["access_token"]).status_code == 200
    assert refresh(client, oauth_client, secret, rotated["refresh_token"]).status_code == 200
    assert api(client, ended["access_token"]).status_code == 401


def test_cleanup_rejects_bad_options(db):
    with pytest.raises(CommandError, match="batch-size"):
        run("oauth_cleanup", "--batch-size", "0")
    for days in ("-1", "1000000", "999999999999"):
        with pytest.raises(CommandError, match="unused-client-days"):
            run("oauth_cleanup", "--unused-client-days", days)
    for pause in ("-1", "61", "nan"):
        with pytest.raises(CommandError, match="pause"):
            run("oauth_cleanup", "--pause", pause)


def _expired_access_tokens(count: int) -> None:
    oauth_client, _ = make_client()
    user = UserFactory()
    AccessTokenFactory.create_batch(
        count, family=None, client=oauth_client, user=user, expires_at=ago(days=1)
    )


def test_cleanup_rests_between_batches_as_asked(db, monkeypatch):
    """``--pause`` rests after every batch but the last: the server's writes get their turn."""
    _expired_access_tokens(12)
    rests = []
    monkeypatch.setattr(cleanup.time, "sleep", rests.append)
    output = run("oauth_cleanup", "--batch-size", "5", "--pause", "0.25")
    assert "Deleted 12 expired access tokens." in output
    assert rests == [0.25, 0.25]  # 5, rest, 5, rest, 2


def test_cleanup_rests_by_default_only_where_a_write_locks_the_database(db, monkeypatch):
    """SQLite lets one writer in at a time: there cleanup rests twice as long as each batch held it."""
    _expired_access_tokens(12)
    rests = []
    monkeypatch.setattr(cleanup.time, "sleep", rests.append)
    # Each batch holds the lock for 10 ms of this clock, read once before and once after.
    ticks = itertools.count()
    monkeypatch.setattr(cleanup.time, "monotonic", lambda: next(ticks) * 0.010)
    output = run("oauth_cleanup", "--batch-size", "5")
    assert "Deleted 12 expired access tokens." in output
    if connection.vendor == "sqlite":
        assert rests == [pytest.approx(0.020), pytest.approx(0.020)]  # 5, rest, 5, rest, 2
    else:
        assert rests == []
    _expired_access_tokens(7)
    run("oauth_cleanup", "--batch-size", "5", "--pause", "0")
    assert not AccessToken.objects.exists()
    assert len(rests) == (2 if connection.vendor == "sqlite" else 0)  # --pause 0: no rest at all


def test_delete_in_batches_counts_each_batch(db):
    oauth_client, _ = make_client()
    user = UserFactory()
    now = timezone.now()
    AccessTokenFactory.create_batch(
        12, family=None, client=oauth_client, user=user, expires_at=now - timedelta(days=1)
    )
    batches = list(cleanup.delete_in_batches(AccessToken.objects.filter(expires_at__lt=now), batch_size=5))
    assert batches == [
        {"twenty_oauth.AccessToken": 5},
        {"twenty_oauth.AccessToken": 5},
        {"twenty_oauth.AccessToken": 2},
    ]
    assert not AccessToken.objects.exists()
    with pytest.raises(ValueError, match="batch_size"):
        list(cleanup.delete_in_batches(AccessToken.objects.all(), batch_size=0))
    with pytest.raises(ValueError, match="pause"):
        list(cleanup.delete_in_batches(AccessToken.objects.all(), pause=-1))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cleanup_while_the_server_issues_and_refreshes(client):
    """Cleanup in batches beside live traffic: no error on either side, no live token lost."""
    user = UserFactory()
    oauth_client, secret = make_client()
    grants = [code_tokens(client, user, oauth_client, secret) for _ in range(4)]
    expired_client, _ = make_client(client_name="Expired")
    AccessToken.objects.bulk_create(
        AccessToken(jti=f"x{i}", client=expired_client, scope="api", expires_at=ago(days=1))
        for i in range(3000)
    )
    errors: list[BaseException] = []
    stop, ready = threading.Event(), threading.Event()
    rounds = []

    def traffic() -> None:
        from django.test import Client as HttpClient

        http = HttpClient()
        try:
            while not stop.is_set():
                for index, grant in enumerate(grants):
                    response = refresh(http, oauth_client, secret, grant["refresh_token"])
                    assert response.status_code == 200, response.content
                    grants[index] = response.json()
                    assert api(http, grants[index]["access_token"]).status_code == 200
                rounds.append(1)
                ready.set()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
            ready.set()
        finally:
            connection.close()

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        assert ready.wait(timeout=30)
        output = run("oauth_cleanup", "--batch-size", "200")
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not errors, errors
    assert len(rounds) >= 2
    assert "Deleted 3000 expired access tokens." in output
    for grant in grants:
        assert api(client, grant["access_token"]).status_code == 200


# --- oauth_keys: what reads keys changes nothing; re-encryption ------------------------------


def key_rows() -> list[tuple]:
    """Every column of every signing-key row, as stored."""
    return list(SigningKey.objects.order_by("pk").values_list())


def test_oauth_keys_list_changes_nothing(client, db):
    """Not the rows, not their columns, and not when the table is empty: list only reads."""
    run("oauth_keys", "create")
    before = key_rows()
    assert len(before) == 2
    out = run("oauth_keys", "list")
    assert out.count("encrypted with SECRET_KEY") == 2
    assert "signing" in out and "published, not yet signing" in out
    assert "PRIVATE KEY" not in out and "enc:v1:" not in out
    assert key_rows() == before
    with override_settings(SECRET_KEY="another"):
        assert run("oauth_keys", "list").count("cannot be decrypted") == 2
    assert key_rows() == before

    SigningKey.objects.all().delete()
    keys.clear_cache()
    assert "No keys: 'migrate' or 'oauth_keys rotate' creates the first one." in run("oauth_keys", "list")
    assert client.get("/oauth/jwks").json() == {"keys": []}
    assert run("oauth_keys", "list").startswith("No keys")
    assert not SigningKey.objects.exists()


def test_oauth_keys_new_kek_prints_a_key_the_setting_takes(client, db):
    first, second = run("oauth_keys", "new-kek").strip(), run("oauth_keys", "new-kek").strip()
    assert first != second
    assert len(base64.urlsafe_b64decode(first)) == 32
    with override_settings(TWENTY_OAUTH={"KEY_ENCRYPTION_KEYS": [first]}):
        assert (
            run("oauth_keys", "reencrypt") == "Encrypted 1 key with TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][0].\n"
        )
        assert "encrypted with TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][0]" in run("oauth_keys", "list")


def test_oauth_keys_reencrypt_changes_nothing_when_a_published_key_cannot_be_decrypted(db):
    with override_settings(SECRET_KEY="another"):
        run("oauth_keys", "rotate")
    before = key_rows()
    with pytest.raises(CommandError, match=r"cannot be decrypted with any key-encryption key") as raised:
        run("oauth_keys", "reencrypt")
    assert "PRIVATE KEY" not in str(raised.value) and "enc:v1:" not in str(raised.value)
    assert key_rows() == before


def test_oauth_keys_reencrypt_leaves_a_retired_key_it_cannot_decrypt(db):
    (lost,) = SigningKey.objects.all()
    SigningKey.objects.filter(pk=lost.pk).update(retired_at=timezone.now())
    with override_settings(SECRET_KEY="another"):
        run("oauth_keys", "rotate")
        out = run("oauth_keys", "reencrypt")
    assert out.startswith("Encrypted 1 key with SECRET_KEY.\n")
    assert f"the retired keys {lost.kid}." in out
    assert SigningKey.objects.get(pk=lost.pk).private_key == lost.private_key


def test_oauth_keys_with_pinned_keys_reads_and_reencrypts_but_creates_nothing(db):
    pinned = keys.private_key_to_pem(keys.generate_private_key("ES256"))
    before = key_rows()
    with override_settings(TWENTY_OAUTH={"SIGNING_KEYS": [pinned]}):
        assert "(pinned in settings)" in run("oauth_keys", "list")
        assert run("oauth_keys", "new-kek").strip()
        assert run("oauth_keys", "reencrypt").startswith("Encrypted 1 key")
        for action in ("create", "rotate"):
            with pytest.raises(CommandError, match="pinned"):
                run("oauth_keys", action)
    assert [row[:2] for row in key_rows()] == [row[:2] for row in before]
