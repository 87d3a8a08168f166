"""
System checks: ``manage.py check`` errors and ``check --deploy`` warnings for TWENTY_OAUTH, and
the database checks of the signing keys (``migrate``, ``check --database``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone
from django.views.generic import TemplateView

from tests.factories import SigningKeyFactory
from twenty_oauth.models import SigningKey
from twenty_oauth.protocol.key_encryption import new_kek
from twenty_oauth.protocol.keys import generate_private_key, private_key_to_pem

ROOT = Path(__file__).resolve().parent.parent
REDIS_CACHE = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379"}
SAFE = {
    "ISSUER": "https://auth.example.com",
    "SIGNING_KEYS": [private_key_to_pem(generate_private_key("ES256"))],
    "KEY_ENCRYPTION_KEYS": [new_kek()],
    "PKCE_REQUIRED": "all",
}


def found(deploy: bool = False) -> dict[str, checks.CheckMessage]:
    """twenty-oauth's messages by id, as ``manage.py check [--deploy]`` computes them."""
    messages = checks.run_checks(include_deployment_checks=deploy, tags=[checks.Tags.security])
    ours = [m for m in messages if (m.id or "").startswith("twenty_oauth.")]
    for message in ours:
        assert message.hint, message  # every message says how to fix it
    return {m.id: m for m in ours}


def errors_for(**oauth) -> dict[str, checks.CheckMessage]:
    with override_settings(TWENTY_OAUTH=oauth):
        return found()


# --- manage.py check: a block that cannot work -----------------------------------------------


def test_a_valid_block_has_no_error():
    assert found() == {}
    assert errors_for(**SAFE, SCOPES={"api": "API", "read:companies": "Read companies"}) == {}


def test_the_command_fails_on_an_error(db):
    out = StringIO()
    with (
        override_settings(TWENTY_OAUTH={"ISSUR": "https://x.example"}),
        pytest.raises(SystemCheckError, match=r"twenty_oauth\.E002"),
    ):
        call_command("check", stdout=out, stderr=out)
    call_command("check", stdout=out, stderr=out)  # the test settings themselves are fine
    assert "System check identified no issues" in out.getvalue()


def test_not_a_dict():
    with override_settings(TWENTY_OAUTH=[("ISSUER", "https://x")]):
        assert "must be a dict, not list" in found()["twenty_oauth.E001"].msg


def test_unknown_key_suggests_the_right_one():
    error = errors_for(ACCESS_TOKEN_LIFETIM=60)["twenty_oauth.E002"]
    assert "'ACCESS_TOKEN_LIFETIM'" in error.msg
    assert "Did you mean 'ACCESS_TOKEN_LIFETIME'?" in error.hint
    assert "Remove it" in errors_for(COLOUR="blue")["twenty_oauth.E002"].hint


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("ACCESS_TOKEN_LIFETIME", "3600", "must be int, not str"),
        ("ACCESS_TOKEN_LIFETIME", True, "must be int, not bool"),
        ("ISSUER", 42, "must be str or None, not int"),
        ("SCOPES", ["api"], "must be dict, not list"),
        ("REGISTRATION_ENABLED", "yes", "must be bool, not str"),
        ("DEFAULT_SCOPES", "api", "must be list or tuple, not str"),
    ],
)
def test_wrong_type(name, value, text):
    error = errors_for(**{name: value})["twenty_oauth.E003"]
    assert text in error.msg
    assert error.hint.startswith(f"{name}: ")  # the setting's own documentation


def test_wrong_types_do_not_break_the_deploy_checks():
    with override_settings(TWENTY_OAUTH={"ACCESS_TOKEN_LIFETIME": "long", "RATE_LIMIT_CACHE": 3}):
        messages = found(deploy=True)
    assert set(messages) == {"twenty_oauth.E003"}


@pytest.mark.parametrize(
    ("setting", "expected", "text"),
    [
        ({"SCOPES": {}}, "E010", "map scope names"),
        ({"SCOPES": {"api": 1}}, "E010", "map scope names"),
        ({"SCOPES": {"read companies": "x"}}, "E021", "not a valid scope"),
        ({"SCOPES": {'say"hi': "x"}}, "E021", "RFC 6749 §3.3"),
        ({"DEFAULT_SCOPES": ["admin"]}, "E011", "'admin', which is not in SCOPES"),
        ({"SCOPES": {"read": "Read"}}, "E011", "'api', which is not in SCOPES"),
        ({"DEFAULT_SCOPES": [["api"]]}, "E011", "not a string"),
        ({"PKCE_REQUIRED": "none"}, "E012", "'public' or 'all'"),
        ({"SIGNING_ALGORITHM": "HS256"}, "E013", "'ES256' or 'RS256'"),
        ({"REGISTRATION_RATE_LIMIT": "ten per minute"}, "E014", "not a rate"),
        ({"CLIENT_METADATA_FETCH_LIMIT": "30"}, "E014", "not a rate"),
        ({"ACCESS_TOKEN_LIFETIME": 0}, "E015", "between 1 and"),
        ({"ACCESS_TOKEN_LIFETIME": 10**12}, "E015", "between 1 and"),
        ({"REFRESH_TOKEN_LIFETIME": 10**12}, "E015", "between 1 and"),
        ({"CLIENT_SECRET_LIFETIME": -10}, "E015", "between 0 and"),
        ({"CLIENT_METADATA_TIMEOUT": -1}, "E015", "between 1 and"),
        ({"CLIENT_METADATA_ADDRESS_LIMIT": "0/m"}, "E014", "allows nothing"),
        ({"CLIENT_METADATA_MAX_CONCURRENT_FETCHES": 0}, "E015", "between 1 and"),
        ({"CLIENT_METADATA_FAILURE_CACHE_SECONDS": -1}, "E015", "between 0 and"),
        ({"CLIENT_METADATA_FAILURE_CACHE_SIZE": -1}, "E015", "between 0 and"),
        ({"MAX_REDIRECT_URIS": 0}, "E015", "between 1 and"),
        ({"KEY_CACHE_SECONDS": -1}, "E015", "between 0 and"),
        ({"DEVICE_CODE_LIFETIME": 0}, "E015", "between 1 and"),
        ({"DEVICE_CODE_INTERVAL": 0}, "E015", "between 1 and"),
        ({"USER_CODE_FAILURE_LIMIT": "0/h"}, "E014", "allows nothing"),
        ({"REGISTRATION_RATE_LIMIT": "0/m"}, "E014", "allows nothing"),
        ({"CLIENT_AUTH_FAILURE_LIMIT": ""}, "E014", "not a rate"),
        ({"SKIP_CONSENT": ".x"}, "E017", "cannot be imported"),
        ({"SKIP_CONSENT": "tests.test_checks.broken_module_path.x"}, "E017", "cannot be imported"),
        ({"SKIP_CONSENT": "os.sep"}, "E017", "not callable"),
        ({"REGISTRATION_INITIAL_ACCESS_TOKEN": ""}, "E022", "leaves registration open"),
        ({"DEFAULT_RESOURCE": "not a url"}, "E023", "not an absolute URI"),
        ({"ALLOWED_RESOURCES": ["https://api.example.com", "https://[::1"]}, "E023", "not an absolute URI"),
        ({"ALLOWED_RESOURCES": [1]}, "E023", "not an absolute URI"),
        ({"AUTHORIZATION_CODE_LIFETIME": 900}, "E016", "at most 600"),
        ({"SKIP_CONSENT": "nowhere.skip"}, "E017", "cannot be imported"),
        ({"SIGNING_KEYS": ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]}, "E018", "key"),
        ({"RATE_LIMIT_CACHE": "redis"}, "E019", "'redis', which is not in CACHES"),
        ({"ISSUER": "https://auth.example.com/?tenant=1"}, "E020", "no query or fragment"),
        ({"ISSUER": "auth.example.com"}, "E020", "scheme and host"),
        ({"ISSUER": "https://[::1"}, "E020", "scheme and host"),
        ({"ISSUER": "https://auth.example.com:99999"}, "E020", "scheme and host"),
        ({"ISSUER": "https://:443"}, "E020", "scheme and host"),
    ],
)
def test_values_that_cannot_work(setting, expected, text):
    messages = errors_for(**setting)
    assert f"twenty_oauth.{expected}" in messages, messages
    assert text in messages[f"twenty_oauth.{expected}"].msg
    assert all(m.level == checks.ERROR for m in messages.values())


def test_default_scope_hint_names_the_fix():
    error = errors_for(DEFAULT_SCOPES=["admin"])["twenty_oauth.E011"]
    assert error.hint == "Add 'admin' to SCOPES or remove it from DEFAULT_SCOPES."


# --- check --deploy: fine in development, unsafe in production --------------------------------


def deploy_warnings(**oauth) -> dict[str, checks.CheckMessage]:
    with override_settings(TWENTY_OAUTH=oauth, CACHES={"default": REDIS_CACHE}):
        return found(deploy=True)


def test_a_production_block_has_no_warning():
    assert deploy_warnings(**SAFE) == {}


def test_the_example_defaults_warn():
    messages = found(deploy=True)  # test settings: no issuer, no pinned keys, local-memory cache
    assert {
        "twenty_oauth.W001",
        "twenty_oauth.W003",
        "twenty_oauth.W004",
        "twenty_oauth.W010",
        "twenty_oauth.I001",
    } <= set(messages)
    assert "Host header" in messages["twenty_oauth.W001"].msg
    assert "oauth_keys" in messages["twenty_oauth.W003"].hint
    assert "Redis" in messages["twenty_oauth.W004"].hint


@pytest.mark.parametrize(
    ("change", "expected", "hint"),
    [
        ({"ISSUER": None}, "W001", "https origin"),
        ({"ISSUER": "http://auth.example.com"}, "W002", "TLS"),
        ({"SIGNING_KEYS": None}, "W003", "oauth_keys"),
        ({"ACCESS_TOKEN_LIFETIME": 7200}, "W005", "3600 or less"),
        ({"AUTHORIZATION_CODE_LIFETIME": 120}, "W006", "60 or less"),
        (
            {"ALLOW_CLIENT_CREDENTIALS_FOR_REGISTERED_CLIENTS": True},
            "W007",
            "initial access token",
        ),
        ({"CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES": True}, "W008", "for tests"),
        ({"REFRESH_TOKEN_LIFETIME": 120 * 86400}, "W009", "RFC 9700 §4.14.2"),
        ({"PKCE_REQUIRED": "public"}, "I001", "Set 'all'"),
    ],
)
def test_each_unsafe_setting_warns_with_its_fix(change, expected, hint):
    messages = deploy_warnings(**{**SAFE, **change})
    assert set(messages) == {f"twenty_oauth.{expected}"}, messages
    assert hint in messages[f"twenty_oauth.{expected}"].hint
    level = checks.INFO if expected.startswith("I") else checks.WARNING
    assert messages[f"twenty_oauth.{expected}"].level == level


@pytest.mark.django_db
def test_w003_fires_whenever_signing_keys_is_unset_even_with_managed_keys():
    """Keys rotated with ``oauth_keys`` still live in the database: the warning stays."""
    unpinned = {key: value for key, value in SAFE.items() if key != "SIGNING_KEYS"}
    call_command("oauth_keys", "rotate", stdout=StringIO())
    call_command("oauth_keys", "create", stdout=StringIO())
    messages = deploy_warnings(**unpinned)
    assert set(messages) == {"twenty_oauth.W003"}
    assert "SIGNING_KEYS" in messages["twenty_oauth.W003"].msg


def test_w010_a_key_encryption_key_derived_from_secret_key():
    derived = {
        key: value for key, value in SAFE.items() if key not in ("SIGNING_KEYS", "KEY_ENCRYPTION_KEYS")
    }
    messages = deploy_warnings(**derived)
    assert set(messages) == {"twenty_oauth.W003", "twenty_oauth.W010"}
    assert "derived from SECRET_KEY" in messages["twenty_oauth.W010"].msg
    assert "oauth_keys new-kek" in messages["twenty_oauth.W010"].hint
    assert "oauth_keys reencrypt" in messages["twenty_oauth.W010"].hint
    assert messages["twenty_oauth.W010"].level == checks.WARNING
    # Keys pinned in settings: nothing in the database to encrypt, nothing to warn about.
    assert deploy_warnings(**{**SAFE, "KEY_ENCRYPTION_KEYS": None}) == {}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("c2hvcnQ=", "decodes to 5 bytes, not 32"),
        ("this is not base64!", "is not URL-safe base64"),
        ("é" * 44, "is not URL-safe base64"),
        (42, "must be a string, not int"),
    ],
)
def test_e025_a_malformed_key_encryption_key_is_named_never_shown(value, text):
    error = errors_for(KEY_ENCRYPTION_KEYS=[new_kek(), value])["twenty_oauth.E025"]
    assert error.msg == f"TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][1] {text}."
    assert str(value) not in error.msg + error.hint
    assert "oauth_keys new-kek" in error.hint


def test_e025_an_empty_list_and_keys_without_padding():
    error = errors_for(KEY_ENCRYPTION_KEYS=[])["twenty_oauth.E025"]
    assert "is empty" in error.msg and "None to derive" in error.hint
    assert errors_for(KEY_ENCRYPTION_KEYS=[new_kek().rstrip("="), new_kek()]) == {}


def test_closed_registration_allows_client_credentials_without_warning():
    closed = {**SAFE, "ALLOW_CLIENT_CREDENTIALS_FOR_REGISTERED_CLIENTS": True}
    assert deploy_warnings(**closed, REGISTRATION_INITIAL_ACCESS_TOKEN="s3cret") == {}
    assert deploy_warnings(**closed, REGISTRATION_ENABLED=False) == {}


def test_process_local_rate_limit_cache():
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    replays = "twenty_oauth.W013"  # the default cache also remembers client assertions' jti
    with override_settings(TWENTY_OAUTH=SAFE, CACHES={"default": local}):
        assert set(found(deploy=True)) == {"twenty_oauth.W004", replays}
    with override_settings(
        TWENTY_OAUTH={**SAFE, "RATE_LIMIT_CACHE": "shared"}, CACHES={"default": local, "shared": REDIS_CACHE}
    ):
        assert set(found(deploy=True)) == {replays}
    with override_settings(
        TWENTY_OAUTH={**SAFE, "RATE_LIMIT_CACHE": "local"}, CACHES={"default": REDIS_CACHE, "local": local}
    ):
        assert set(found(deploy=True)) == {"twenty_oauth.W004"}
    no_limits = {
        **SAFE,
        "REGISTRATION_RATE_LIMIT": None,
        "CLIENT_AUTH_FAILURE_LIMIT": None,
        "CLIENT_METADATA_FETCH_LIMIT": None,
        "CLIENT_METADATA_ADDRESS_LIMIT": None,
        "USER_CODE_FAILURE_LIMIT": None,
    }
    with override_settings(TWENTY_OAUTH=no_limits, CACHES={"default": local}):
        assert set(found(deploy=True)) == {replays}
    for name in ("CLIENT_METADATA_FETCH_LIMIT", "CLIENT_METADATA_ADDRESS_LIMIT"):
        with override_settings(TWENTY_OAUTH={**no_limits, name: "30/m"}, CACHES={"default": local}):
            assert set(found(deploy=True)) == {"twenty_oauth.W004", replays}
    user_codes_only = {**no_limits, "USER_CODE_FAILURE_LIMIT": "20/h"}
    with override_settings(TWENTY_OAUTH=user_codes_only, CACHES={"default": local}):
        assert set(found(deploy=True)) == {"twenty_oauth.W004", replays}
    fetches_only = {**no_limits, "CLIENT_METADATA_FETCH_LIMIT": "30/m"}
    with override_settings(
        TWENTY_OAUTH={**fetches_only, "CLIENT_METADATA_DOCUMENTS": False}, CACHES={"default": local}
    ):
        assert set(found(deploy=True)) == {replays}


def test_process_local_default_cache_warns_that_client_assertions_can_be_replayed():
    """RFC 7523 §3: a jti is used once, which only a cache all workers share can tell."""
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    with override_settings(TWENTY_OAUTH=SAFE, CACHES={"default": local, "shared": REDIS_CACHE}):
        messages = found(deploy=True)
    assert "jti" in messages["twenty_oauth.W013"].msg
    assert "CACHES" in messages["twenty_oauth.W013"].hint
    with override_settings(TWENTY_OAUTH=SAFE, CACHES={"default": REDIS_CACHE}):
        assert "twenty_oauth.W013" not in found(deploy=True)


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        **env,
    }
    environment.pop("TWENTY_DB", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_manage_py_check_on_the_example_site(tmp_path):
    """The real command on the example project: warnings print, and only errors fail it."""
    plain = manage(tmp_path, "check")
    assert plain.returncode == 0, plain.stderr
    deploy = manage(tmp_path, "check", "--deploy", TWENTY_OAUTH_ISSUER="http://crm.example.com")
    assert deploy.returncode == 0
    assert "twenty_oauth.W002" in deploy.stderr and "TLS" in deploy.stderr
    assert "twenty_oauth.W001" not in deploy.stderr
    broken = manage(tmp_path, "check", TWENTY_OAUTH_ISSUER="crm.example.com")
    assert broken.returncode == 1
    assert "twenty_oauth.E020" in broken.stderr and "https://auth.example.com" in broken.stderr


# --- migrate and check --database: the signing keys in the database --------------------------


def key_messages(**changes) -> dict[str, checks.CheckMessage]:
    """twenty-oauth's database checks, as ``manage.py check --database default`` runs them."""
    with override_settings(**changes):
        messages = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    ours = [m for m in messages if (m.id or "").startswith("twenty_oauth.")]
    for message in ours:
        assert message.hint, message
    return {m.id: m for m in ours}


@pytest.mark.django_db
def test_the_keys_migrate_made_pass_the_database_checks():
    assert key_messages() == {}
    call_command("oauth_keys", "rotate", stdout=StringIO())
    assert key_messages() == {}


@pytest.mark.django_db
def test_e026_a_key_no_key_encryption_key_decrypts():
    (lost,) = SigningKey.objects.all()
    messages = key_messages(SECRET_KEY="another")
    assert set(messages) == {"twenty_oauth.E026"}
    error = messages["twenty_oauth.E026"]
    assert error.level == checks.ERROR
    assert f"The signing key {lost.kid} cannot be decrypted with any key-encryption key" in error.msg
    assert "SECRET_KEY_FALLBACKS" in error.hint and "reencrypt" in error.hint
    assert lost.private_key[7:47] not in error.msg + error.hint
    with override_settings(SECRET_KEY="another"):  # plain 'manage.py check' reads no database
        assert not [m for m in checks.run_checks() if m.id == "twenty_oauth.E026"]
    assert key_messages(SECRET_KEY="another", SECRET_KEY_FALLBACKS=["tests-only"]) == {}
    # A retired key no longer signs or verifies: it does not matter that it cannot be read.
    SigningKey.objects.update(retired_at=timezone.now())
    with override_settings(SECRET_KEY="another"):
        call_command("oauth_keys", "rotate", stdout=StringIO())
    assert key_messages(SECRET_KEY="another") == {}


@pytest.mark.django_db
def test_w011_no_key_signs_and_w012_a_key_stored_unencrypted():
    SigningKey.objects.update(activated_at=None)
    assert set(key_messages()) == {"twenty_oauth.W011"}
    SigningKey.objects.all().delete()
    messages = key_messages()
    assert set(messages) == {"twenty_oauth.W011"}
    assert "503 temporarily_unavailable" in messages["twenty_oauth.W011"].msg
    assert "oauth_keys rotate" in messages["twenty_oauth.W011"].hint
    key = generate_private_key("ES256")
    plain = SigningKeyFactory(key=key, private_key=private_key_to_pem(key))
    messages = key_messages()
    assert set(messages) == {"twenty_oauth.W012"}
    assert plain.kid in messages["twenty_oauth.W012"].msg
    assert "oauth_keys reencrypt" in messages["twenty_oauth.W012"].hint
    # Pinned keys: the database's are not used, and not checked.
    pinned = {"SIGNING_KEYS": [private_key_to_pem(key)]}
    assert key_messages(TWENTY_OAUTH=pinned, SECRET_KEY="another") == {}


def test_migrate_and_check_database_on_the_example_site(tmp_path):
    """The real commands: migrate creates an encrypted key, a wrong SECRET_KEY fails the check."""
    migrated = manage(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Created the signing key" in migrated.stdout
    with sqlite3.connect(tmp_path / "db.sqlite3") as database:
        ((stored,),) = database.execute("SELECT private_key FROM twenty_oauth_signingkey").fetchall()
    assert stored.startswith("enc:v1:") and "PRIVATE KEY" not in stored
    fine = manage(tmp_path, "check", "--database", "default")
    assert fine.returncode == 0, fine.stderr
    assert "no issues" in fine.stdout
    wrong = manage(tmp_path, "check", "--database", "default", DJANGO_SECRET_KEY="not-the-one")
    assert wrong.returncode == 1
    assert "twenty_oauth.E026" in wrong.stderr and "cannot be decrypted" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert stored[7:47] not in wrong.stderr + wrong.stdout
    # Without --database, check reads no database: the error shows where keys are used.
    assert manage(tmp_path, "check", DJANGO_SECRET_KEY="not-the-one").returncode == 0


# --- manage.py check: the discovery documents the URLconf must serve -------------------------

#: A host whose own view answers where twenty-oauth's protected-resource metadata belongs.
urlpatterns = [
    path(".well-known/oauth-protected-resource", TemplateView.as_view()),
    path("", include("twenty_oauth.urls")),
]
DISCOVERY_LINE = 'path("", include("twenty_oauth.discovery_urls"))'
RESOURCES = {
    "ISSUER": "https://host.example/auth",
    # One on the issuer's host (its metadata is ours to serve), one elsewhere (not ours).
    "ALLOWED_RESOURCES": ["https://host.example/mcp", "https://api.other.example/reports"],
}


def url_messages(urlconf: str, **oauth) -> list[checks.CheckMessage]:
    """Every message of ``manage.py check``'s URL checks, Django's own included, for ``urlconf``."""
    with override_settings(ROOT_URLCONF=urlconf, TWENTY_OAUTH=oauth):
        return checks.run_checks(tags=[checks.Tags.urls])


@pytest.mark.parametrize("oauth", [{}, RESOURCES], ids=["no issuer", "issuer with a path"])
@pytest.mark.parametrize(
    "urlconf",
    ["example_project.urls", "tests.mounts.prefix", "tests.mounts.i18n", "tests.mounts.i18n_unprefixed"],
)
def test_e024_is_silent_when_the_documents_answer_at_the_root(urlconf, oauth):
    """The root include alone, or any other mount with the discovery include: no message at all."""
    assert url_messages(urlconf, **oauth) == []


def test_e024_a_prefix_mount_without_the_discovery_include():
    (error,) = url_messages("tests.mounts.prefix_alone", **RESOURCES)
    assert error.id == "twenty_oauth.E024"
    assert error.level == checks.ERROR
    assert "RFC 8414 §3.1, RFC 9728 §3.1 and OpenID Connect Discovery §4" in error.msg
    assert "tests.mounts.prefix_alone does not route them to twenty-oauth" in error.msg
    assert (
        "/.well-known/oauth-authorization-server/auth (not found); "
        "/.well-known/oauth-protected-resource/auth (not found); "
        "/.well-known/oauth-protected-resource/mcp (not found)."
    ) in error.msg
    assert "reports" not in error.msg  # another host publishes that resource's metadata
    assert error.msg.endswith(f"Add this line to its urlpatterns: {DISCOVERY_LINE}")
    assert "outside any prefix and outside i18n_patterns()" in error.hint


def test_e024_without_an_issuer_the_documents_are_those_of_the_root():
    (error,) = url_messages("tests.mounts.prefix_alone")
    assert (
        "/.well-known/oauth-authorization-server (not found); "
        "/.well-known/openid-configuration (not found); "
        "/.well-known/oauth-protected-resource (not found)."
    ) in error.msg


def test_e024_i18n_patterns_without_the_discovery_include():
    (error,) = url_messages("tests.mounts.i18n_alone")
    assert error.id == "twenty_oauth.E024"
    assert DISCOVERY_LINE in error.msg


def test_e024_names_the_view_that_answers_instead():
    (error,) = url_messages(__name__)
    assert error.id == "twenty_oauth.E024"
    assert (
        "/.well-known/oauth-protected-resource (answered by django.views.generic.base.TemplateView)"
    ) in error.msg
    assert "oauth-authorization-server" not in error.msg


def test_e024_fails_manage_py_check(db):
    out = StringIO()
    with (
        override_settings(ROOT_URLCONF="tests.mounts.prefix_alone"),
        pytest.raises(SystemCheckError, match=r"twenty_oauth\.E024"),
    ):
        call_command("check", stdout=out, stderr=out)
    with override_settings(ROOT_URLCONF="tests.mounts.prefix"):
        call_command("check", stdout=out, stderr=out)
    assert "System check identified no issues" in out.getvalue()


def test_rfc9449_s11_1_process_local_dpop_replay_cache():
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    caches = {"default": REDIS_CACHE, "local": local, "shared": REDIS_CACHE}
    with override_settings(TWENTY_OAUTH={**SAFE, "DPOP_REPLAY_CACHE": "local"}, CACHES=caches):
        messages = found(deploy=True)
        assert set(messages) == {"twenty_oauth.W014"}
        assert "DPOP_REPLAY_CACHE" in messages["twenty_oauth.W014"].hint
    with override_settings(TWENTY_OAUTH={**SAFE, "DPOP_REPLAY_CACHE": "shared"}, CACHES=caches):
        assert set(found(deploy=True)) == set()
    with override_settings(TWENTY_OAUTH={**SAFE, "DPOP_REPLAY_CACHE": "missing"}):
        assert "twenty_oauth.E027" in found()


@pytest.mark.django_db
def test_w014_clients_want_rs256_id_tokens_and_no_key_has_it():
    from tests.factories import make_client
    from twenty_oauth.protocol import keys

    assert key_messages() == {}
    make_client(id_token_signed_response_alg="RS256")
    messages = key_messages()
    assert set(messages) == {"twenty_oauth.W015"}
    assert "id_token_signed_response_alg RS256" in messages["twenty_oauth.W015"].msg
    assert "oauth_keys create --algorithm RS256" in messages["twenty_oauth.W015"].hint
    keys.create_key("RS256", activate=False)
    assert key_messages() == {}
