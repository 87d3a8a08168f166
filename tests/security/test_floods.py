"""
Floods: a per-IP limit on registration and an optional initial access token (RFC 7591 §3), and
throttled secret guessing at the token, revocation and introspection endpoints (RFC 6749
§10.10, RFC 7662 §4). Both answer 429 with Retry-After (RFC 6585 §4) and count in Django's
cache, shared by every worker when that cache is Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.core import checks
from django.test import override_settings

from tests.conftest import form, token_request
from tests.factories import make_client
from tests.security.conftest import assert_oauth_error, register, row_counts

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"
FORM = "application/x-www-form-urlencoded"
METADATA = {"redirect_uris": ["https://app.example.com/callback"], "client_name": "Flood"}
# An hourly window: a test never straddles two windows, so counts are exact.
TIGHT = "3/h"


def assert_throttled(response) -> int:
    body = assert_oauth_error(response, 429, "too_many_requests")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 3600, body
    return retry_after


def secret_endpoint(http, path: str, client_id: str, secret: str, address: str = "127.0.0.1"):
    data = {"client_id": client_id, "client_secret": secret}
    data.update({"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "x"})
    return http.post(path, form(data), content_type=FORM, REMOTE_ADDR=address)


def redis_caches(prefix: str, location: str = REDIS_URL) -> dict:
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
        },
    }


@pytest.fixture
def cache_prefix() -> str:
    """A cache key prefix of this test's own."""
    return f"twenty-oauth-test-{uuid.uuid4().hex}"


@pytest.fixture
def redis_prefix(cache_prefix):
    """
    A key prefix of this test's own in the Redis on 127.0.0.1:6379, whose keys are removed
    afterwards (other runs may share this Redis). Tests that use it are marked ``redis``.
    """
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.fail(f"This test needs Redis at {REDIS_URL}; start one, or leave it out with -m 'not redis'.")
    yield cache_prefix
    for key in connection.scan_iter(f"{cache_prefix}:*"):
        connection.delete(key)


def test_rfc6585_4_registration_is_rate_limited_per_ip(client):
    with override_settings(TWENTY_OAUTH={"REGISTRATION_RATE_LIMIT": TIGHT}):
        for _ in range(3):
            assert register(client, METADATA, REMOTE_ADDR="203.0.113.7").status_code == 201
        before = row_counts()
        assert_throttled(register(client, METADATA, REMOTE_ADDR="203.0.113.7"))
        assert row_counts() == before
        # Another address has its own budget.
        assert register(client, METADATA, REMOTE_ADDR="203.0.113.8").status_code == 201


def test_rfc6585_4_refused_registrations_do_not_use_the_budget(client):
    """Only registrations that create a client count: a client fixing its metadata is not locked out."""
    with override_settings(TWENTY_OAUTH={"REGISTRATION_RATE_LIMIT": TIGHT}):
        for _ in range(5):
            response = register(
                client, {"redirect_uris": ["http://bad.example/cb"]}, REMOTE_ADDR="203.0.113.9"
            )
            assert_oauth_error(response, 400, "invalid_redirect_uri")
        assert register(client, METADATA, REMOTE_ADDR="203.0.113.9").status_code == 201


def test_rfc7591_3_default_registration_limit_is_generous(client):
    """Large providers register many clients from few addresses: 50 in a row pass by default."""
    for _ in range(50):
        assert register(client, METADATA, REMOTE_ADDR="198.51.100.1").status_code == 201


def test_rfc7591_3_initial_access_token_closes_registration(client):
    token = "registration-" + uuid.uuid4().hex
    with override_settings(TWENTY_OAUTH={"REGISTRATION_INITIAL_ACCESS_TOKEN": token}):
        before = row_counts()
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": f"Basic {token}"}):
            response = register(client, METADATA, **headers)
            assert_oauth_error(response, 401, "invalid_token")
            assert 'error="invalid_token"' in response["WWW-Authenticate"]
        assert row_counts() == before
        assert register(client, METADATA, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 201


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_rfc6749_10_10_failed_client_authentication_is_throttled(client, service, path):
    oauth_client, secret = service
    other, other_secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    with override_settings(TWENTY_OAUTH={"CLIENT_AUTH_FAILURE_LIMIT": TIGHT}):
        for _ in range(3):
            assert_oauth_error(
                secret_endpoint(client, path, oauth_client.client_id, "guess"), 401, "invalid_client"
            )
        # Once throttled, even the right secret waits: the guesser cannot tell a hit.
        assert_throttled(secret_endpoint(client, path, oauth_client.client_id, secret))
        # Other clients are unaffected.
        assert secret_endpoint(client, path, other.client_id, other_secret).status_code == 200


def test_rfc6749_10_10_guesses_from_elsewhere_do_not_lock_the_client_out(client, service):
    """A client_id is public: guessing its secret from one address leaves the client's own working."""
    oauth_client, secret = service
    client_id, guesser, owner = oauth_client.client_id, "203.0.113.9", "198.51.100.4"
    with override_settings(TWENTY_OAUTH={"CLIENT_AUTH_FAILURE_LIMIT": TIGHT}):
        for _ in range(5):
            response = secret_endpoint(client, "/oauth/token", client_id, "guess", guesser)
            assert response.status_code in (401, 429)
        assert_throttled(secret_endpoint(client, "/oauth/token", client_id, secret, guesser))
        for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
            assert secret_endpoint(client, path, client_id, secret, owner).status_code == 200
        # The other address has its own count, and it starts empty.
        response = secret_endpoint(client, "/oauth/token", client_id, "guess", owner)
        assert_oauth_error(response, 401, "invalid_client")


def test_rfc6749_10_10_guesses_count_across_endpoints(client, service):
    oauth_client, secret = service
    with override_settings(TWENTY_OAUTH={"CLIENT_AUTH_FAILURE_LIMIT": TIGHT}):
        for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
            assert_oauth_error(
                secret_endpoint(client, path, oauth_client.client_id, "guess"), 401, "invalid_client"
            )
        for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
            assert_throttled(secret_endpoint(client, path, oauth_client.client_id, secret))


def test_rfc6749_10_10_guessing_unknown_client_ids_is_throttled(client):
    with override_settings(TWENTY_OAUTH={"CLIENT_AUTH_FAILURE_LIMIT": TIGHT}):
        for _ in range(3):
            assert_oauth_error(secret_endpoint(client, "/oauth/token", "ghost", "x"), 401, "invalid_client")
        assert_throttled(secret_endpoint(client, "/oauth/token", "ghost", "x"))


def test_rfc6749_10_10_successful_authentications_are_not_counted(client, service):
    oauth_client, secret = service
    with override_settings(TWENTY_OAUTH={"CLIENT_AUTH_FAILURE_LIMIT": TIGHT}):
        for _ in range(10):
            assert secret_endpoint(client, "/oauth/token", oauth_client.client_id, secret).status_code == 200


def test_rfc6585_4_limits_can_be_disabled(client, service):
    oauth_client, _ = service
    with override_settings(TWENTY_OAUTH={"CLIENT_AUTH_FAILURE_LIMIT": None, "REGISTRATION_RATE_LIMIT": None}):
        for _ in range(25):
            assert_oauth_error(
                secret_endpoint(client, "/oauth/token", oauth_client.client_id, "guess"),
                401,
                "invalid_client",
            )
        for _ in range(5):
            assert register(client, METADATA).status_code == 201


@pytest.mark.redis
def test_rfc6585_4_redis_counts_are_shared_by_every_worker(client, service, redis_prefix):
    """Failures counted by this process throttle a request served by another process."""
    oauth_client, _ = service
    caches = redis_caches(redis_prefix)
    oauth = {"RATE_LIMIT_CACHE": "ratelimit", "CLIENT_AUTH_FAILURE_LIMIT": TIGHT}
    with override_settings(CACHES=caches, TWENTY_OAUTH=oauth):
        for _ in range(3):
            token_request(client, {"grant_type": "client_credentials", "client_id": oauth_client.client_id})
    stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}:*"))
    assert len(stored) == 1, stored
    assert int(redis.Redis.from_url(REDIS_URL).get(stored[0])) == 3
    worker = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SECOND_WORKER, json.dumps(caches), json.dumps(oauth), oauth_client.client_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
    )
    assert worker.returncode == 0, worker.stderr
    status, error, retry_after = worker.stdout.split()
    assert (status, error) == ("429", "too_many_requests")
    assert 1 <= int(retry_after) <= 3600


SECOND_WORKER = """
import json, sys
import django
django.setup()
from django.test import Client, override_settings
caches, oauth, client_id = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
with override_settings(CACHES=caches, TWENTY_OAUTH=oauth):
    response = Client().post(
        "/oauth/token",
        f"grant_type=client_credentials&client_id={client_id}&client_secret=any",
        content_type="application/x-www-form-urlencoded",
    )
print(response.status_code, response.json()["error"], response.get("Retry-After"))
"""


def test_rfc6585_4_unreachable_rate_limit_cache_is_not_a_500(client, service, cache_prefix, caplog):
    """With the counter store down, the limits stop counting (and say so); OAuth keeps working."""
    oauth_client, secret = service
    caches = redis_caches(cache_prefix, "redis://127.0.0.1:18199/0")
    oauth = {"RATE_LIMIT_CACHE": "ratelimit", "CLIENT_AUTH_FAILURE_LIMIT": TIGHT}
    with override_settings(CACHES=caches, TWENTY_OAUTH=oauth):
        wrong = secret_endpoint(client, "/oauth/token", oauth_client.client_id, "guess")
        right = secret_endpoint(client, "/oauth/token", oauth_client.client_id, secret)
        registered = register(client, METADATA)
    assert_oauth_error(wrong, 401, "invalid_client")
    assert right.status_code == 200
    assert registered.status_code == 201
    assert "rate-limit cache unavailable" in caplog.text


def test_rfc6585_4_deploy_check_warns_when_the_rate_limit_cache_is_process_local(cache_prefix):
    """The check reads the configured backend; it does not connect to it."""
    warnings = [m.id for m in checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])]
    assert "twenty_oauth.W004" in warnings
    with override_settings(CACHES=redis_caches(cache_prefix), TWENTY_OAUTH={"RATE_LIMIT_CACHE": "ratelimit"}):
        warnings = [
            m.id for m in checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
        ]
    assert "twenty_oauth.W004" not in warnings
