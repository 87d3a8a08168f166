"""
Client ID metadata documents that cannot be turned against the server: a client_id that is an
https URL makes the server fetch it (draft-ietf-oauth-client-id-metadata-document, "Server Side
Request Forgery (SSRF) Attacks"), and wildcard DNS gives anyone endless URLs to name. Before
any fetch, a visitor signs in (RFC 9700 §4.11.2: the login page is the site's own), the
requester's address spends its budget (RFC 6585 §4), and a fetch takes one of a few places
(503 ``temporarily_unavailable`` at once when none is free, RFC 6749 §4.1.2.1, RFC 9110
§15.6.4); one fetch of a URL runs at a time, and a failure is remembered for a while.

Nothing is really fetched here: ``metadata_documents.fetch`` is replaced by a transport that
answers as each test says, records the URLs it was asked for, and can hold a fetch until the
test lets it go. Threads meet on events; no test sleeps.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.db import connections
from django.test import Client as HttpClient
from django.test import override_settings

from tests.conftest import REDIRECT, form, pkce_pair, query_of
from tests.security.conftest import assert_oauth_error
from tests.security.test_floods import cache_prefix, redis_caches, redis_prefix  # noqa: F401 - fixtures
from twenty_oauth.models import Client
from twenty_oauth.protocol import fetch_guards, https_fetch, metadata_documents, ratelimit

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
ATTACKER = "203.0.113.66"
NEIGHBOUR = "198.51.100.7"
FAILED = "The metadata document URL answered HTTP 500."


def flood_url(n: int) -> str:
    """One of the endless names a wildcard DNS record answers for."""
    return f"https://h{n}.flood.example/client.json"


def document(url: str) -> dict:
    return {
        "client_id": url,
        "client_name": "Flood App",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }


class Transport:
    """Stands in for the HTTPS fetch: answers a document (not cacheable) unless told to fail."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failing: set[str] = set()
        self.ttl = 0
        self.hold = False
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, url: str, lease: fetch_guards.Lease | None = None) -> tuple[dict, int]:
        self.calls.append(url)
        self.started.set()
        if self.hold:
            assert self.release.wait(30), "the test never let the fetch go"
        if url in self.failing:
            raise metadata_documents.MetadataDocumentError(FAILED)
        return document(url), self.ttl


@pytest.fixture
def transport(monkeypatch) -> Transport:
    fake = Transport()
    monkeypatch.setattr(metadata_documents, "fetch", fake)
    return fake


@pytest.fixture
def clock(monkeypatch):
    """One fixed instant for the rate-limit windows and the memory of failures; tests move it."""
    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now.value))
    monkeypatch.setattr(metadata_documents._failures, "clock", lambda: now.value)
    return now


def authorize_page(http, client_id: str, address: str = ATTACKER, redirect_uri: str = REDIRECT):
    _, challenge = pkce_pair()
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return http.get("/oauth/authorize?" + urlencode(query), REMOTE_ADDR=address)


def token_with(http, client_id: str, address: str = ATTACKER):
    data = {"grant_type": "client_credentials", "client_id": client_id}
    return http.post("/oauth/token", form(data), content_type=FORM, REMOTE_ADDR=address)


def assert_page(response, status: int, error: str, fragment: str = "") -> None:
    """The authorization endpoint's error page: never a redirect, the RFC error code shown."""
    assert response.status_code == status, (response.status_code, response.get("Location"))
    assert "Location" not in response
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f"<code>{error}</code>" in html, html
    assert fragment in html, html


def in_thread(call) -> tuple[threading.Thread, list]:
    """Run ``call`` on a thread of its own; its answer lands in the returned list."""
    answers: list = []

    def run() -> None:
        try:
            answers.append(call())
        finally:
            connections.close_all()  # this thread's own, which would outlive the test database

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, answers


# --- sign in first ------------------------------------------------------------------------------


def test_rfc9700_4_11_2_an_anonymous_visitor_signs_in_before_anything_is_fetched(
    client, user, transport, clock
):
    """
    The login page is this site's own: sending the visitor there redirects nowhere unvalidated,
    so the redirect URI (which needs the document) is left for later, and nothing is fetched or
    counted against the address until someone has signed in.
    """
    with override_settings(TWENTY_OAUTH={"CLIENT_METADATA_ADDRESS_LIMIT": "1/h"}):
        for n in range(20):
            response = authorize_page(client, flood_url(n), redirect_uri="https://unchecked.example/cb")
            assert response.status_code == 302
            assert query_of(response["Location"])["next"].startswith("/oauth/authorize?client_id=https")
        assert transport.calls == []
        assert not Client.objects.exists()

        wanted = authorize_page(client, flood_url(0))
        client.force_login(user)
        page = client.get(query_of(wanted["Location"])["next"], REMOTE_ADDR=ATTACKER)
    assert page.status_code == 200, page.content
    assert "Flood App" in page.content.decode()
    assert transport.calls == [flood_url(0)]


# --- a budget per address -----------------------------------------------------------------------


def test_rfc6585_4_requests_that_would_fetch_are_limited_per_address_before_the_fetch(
    client, user, transport, clock
):
    client.force_login(user)
    transport.failing = {flood_url(n) for n in range(10)}
    with override_settings(TWENTY_OAUTH={"CLIENT_METADATA_ADDRESS_LIMIT": "3/h"}):
        for n in range(3):
            assert_page(authorize_page(client, flood_url(n)), 400, "invalid_request", "HTTP 500")
        refused = authorize_page(client, flood_url(3))
        assert_page(refused, 429, "too_many_requests", "named from your address")
        assert 1 <= int(refused["Retry-After"]) <= 3600
        # The fourth was refused before its fetch: the transport never saw it.
        assert transport.calls == [flood_url(n) for n in range(3)]
        # The token endpoint draws on the same budget.
        assert_oauth_error(token_with(client, flood_url(4)), 429, "too_many_requests")
        assert transport.calls == [flood_url(n) for n in range(3)]
        # Another address has a budget of its own.
        assert authorize_page(client, flood_url(20), address=NEIGHBOUR).status_code == 200
        # A document in the cache costs no fetch and no budget.
        transport.ttl = 600
        with override_settings(TWENTY_OAUTH={"CLIENT_METADATA_ADDRESS_LIMIT": None}):
            assert authorize_page(client, flood_url(21)).status_code == 200
        assert authorize_page(client, flood_url(21)).status_code == 200
        assert transport.calls.count(flood_url(21)) == 1


def test_rfc6585_4_the_token_endpoint_answers_429_and_counts_no_failed_authentication(
    client, transport, clock
):
    transport.failing = {flood_url(n) for n in range(5)}
    limits = {"CLIENT_METADATA_ADDRESS_LIMIT": "2/h", "CLIENT_AUTH_FAILURE_LIMIT": "2/h"}
    with override_settings(TWENTY_OAUTH=limits):
        for n in range(2):
            body = assert_oauth_error(token_with(client, flood_url(n)), 401, "invalid_client")
            assert FAILED in body["error_description"]
        refused = token_with(client, flood_url(2))
        assert_oauth_error(refused, 429, "too_many_requests")
        assert 1 <= int(refused["Retry-After"]) <= 3600
        assert transport.calls == [flood_url(0), flood_url(1)]
        # Refused for the address, not for the client: flood_url(2) spent none of its failures.
        with override_settings(TWENTY_OAUTH={**limits, "CLIENT_METADATA_ADDRESS_LIMIT": None}):
            assert_oauth_error(token_with(client, flood_url(2)), 401, "invalid_client")
            assert_oauth_error(token_with(client, flood_url(2)), 401, "invalid_client")


# --- a cap on fetches at once -------------------------------------------------------------------


def test_rfc6749_4_1_2_1_fetches_past_the_cap_fail_at_once(client, user, transport, clock):
    """With the one place taken, other requests are refused while that fetch still runs."""
    transport.hold = True
    transport.failing = {flood_url(1)}  # no row written from the thread (SQLite's shared cache)
    with override_settings(TWENTY_OAUTH={"CLIENT_METADATA_MAX_CONCURRENT_FETCHES": 1}):
        thread, answers = in_thread(lambda: token_with(HttpClient(), flood_url(1), NEIGHBOUR))
        assert transport.started.wait(30)

        client.force_login(user)
        busy = authorize_page(client, flood_url(2))
        assert_page(busy, 503, "temporarily_unavailable", "try again shortly")
        assert busy["Retry-After"] == "5"
        busy = token_with(client, flood_url(3))
        assert_oauth_error(busy, 503, "temporarily_unavailable")
        assert busy["Retry-After"] == "5"
        # Both were answered while the first fetch was still held: nobody queued for the place.
        assert thread.is_alive() and answers == []
        assert transport.calls == [flood_url(1)]

        transport.release.set()
        thread.join(30)
        assert_oauth_error(answers[0], 401, "invalid_client")
        # A refusal for want of a place is not remembered against the URL.
        transport.hold = False
        assert authorize_page(client, flood_url(2)).status_code == 200
    assert transport.calls == [flood_url(1), flood_url(2)]


def test_rfc6749_4_1_2_1_a_name_lookup_left_running_keeps_its_place(
    client, user, monkeypatch, settings, clock
):
    """
    A name server that never answers: the fetch gives up at its deadline, but the lookup thread
    cannot be stopped, and it keeps the fetch's place until it returns, so that slow name
    servers tie up no more threads than the cap.
    """
    settings.TWENTY_OAUTH = {"CLIENT_METADATA_MAX_CONCURRENT_FETCHES": 1}
    answer, asked = threading.Event(), []

    def slow_lookup(host, *args, **kwargs):
        asked.append(host)
        answer.wait(30)
        raise OSError("no answer")

    monkeypatch.setattr(https_fetch.socket, "getaddrinfo", slow_lookup)
    # The deadline has passed as soon as the lookup starts: the request does not wait for it.
    remaining = https_fetch._Deadline.remaining
    monkeypatch.setattr(https_fetch._Deadline, "remaining", lambda self: 0.0)
    client.force_login(user)
    assert_page(authorize_page(client, flood_url(1)), 400, "invalid_request", "timed out")
    (lookup,) = [t for t in threading.enumerate() if t.name == "twenty-oauth-resolve"]

    assert_page(authorize_page(client, flood_url(2)), 503, "temporarily_unavailable")
    assert asked == ["h1.flood.example"]

    answer.set()
    lookup.join(30)
    monkeypatch.setattr(https_fetch._Deadline, "remaining", remaining)
    assert_page(authorize_page(client, flood_url(3)), 400, "invalid_request", "could not be resolved")
    assert asked == ["h1.flood.example", "h3.flood.example"]


@pytest.mark.redis
def test_rfc9110_15_6_4_the_cap_is_shared_by_every_worker(client, user, transport, clock, request):
    """With Redis as the rate-limit cache, places taken by other workers count here too."""
    caches_setting = redis_caches(request.getfixturevalue("redis_prefix"))
    oauth = {"RATE_LIMIT_CACHE": "ratelimit", "CLIENT_METADATA_MAX_CONCURRENT_FETCHES": 2}
    client.force_login(user)
    with override_settings(CACHES=caches_setting, TWENTY_OAUTH=oauth):
        shared = caches["ratelimit"]
        for index in range(2):  # what two fetches in other processes hold
            assert shared.add(f"{fetch_guards.SLOT_PREFIX}{index}", f"worker-{index}", 30)
        assert_page(authorize_page(client, flood_url(1)), 503, "temporarily_unavailable")
        assert transport.calls == []
        shared.delete(f"{fetch_guards.SLOT_PREFIX}1")  # one of them is done
        assert authorize_page(client, flood_url(1)).status_code == 200
        assert transport.calls == [flood_url(1)]
        # The place was given back; the other worker's is untouched.
        assert shared.get(f"{fetch_guards.SLOT_PREFIX}1") is None
        assert shared.get(f"{fetch_guards.SLOT_PREFIX}0") == "worker-0"


# --- one fetch per URL, and a short memory of failures ------------------------------------------


def test_cimd_ssrf_one_fetch_of_a_url_at_a_time(client, transport, clock, monkeypatch):
    """Two requests naming one URL at once: the second waits for the first one's fetch."""
    joined = threading.Event()
    result = fetch_guards.Outcome.result

    def waiting(self, timeout):
        joined.set()
        return result(self, timeout)

    monkeypatch.setattr(fetch_guards.Outcome, "result", waiting)
    transport.hold = True
    transport.failing = {flood_url(1)}
    url = flood_url(1)
    with override_settings(TWENTY_OAUTH={"CLIENT_METADATA_FAILURE_CACHE_SECONDS": 0}):
        first, first_answer = in_thread(lambda: token_with(HttpClient(), url, ATTACKER))
        assert transport.started.wait(30)
        second, second_answer = in_thread(lambda: token_with(HttpClient(), url, NEIGHBOUR))
        assert joined.wait(30)
        transport.release.set()
        first.join(30)
        second.join(30)
    assert transport.calls == [url]
    for answers in (first_answer, second_answer):
        body = assert_oauth_error(answers[0], 401, "invalid_client")
        assert FAILED in body["error_description"]


def test_cimd_ssrf_failures_are_remembered_briefly_and_in_bounded_number(client, user, transport, clock):
    client.force_login(user)
    transport.failing = {flood_url(n) for n in range(3)}
    memory = {"CLIENT_METADATA_FAILURE_CACHE_SECONDS": 60, "CLIENT_METADATA_FAILURE_CACHE_SIZE": 2}
    with override_settings(TWENTY_OAUTH=memory):
        for n in (0, 1, 0, 1):
            assert_page(authorize_page(client, flood_url(n)), 400, "invalid_request", "HTTP 500")
        assert transport.calls == [flood_url(0), flood_url(1)]
        # The token endpoint answers from the same memory.
        body = assert_oauth_error(token_with(client, flood_url(1)), 401, "invalid_client")
        assert FAILED in body["error_description"]
        # A third failure pushes out the oldest.
        assert_page(authorize_page(client, flood_url(2)), 400, "invalid_request", "HTTP 500")
        assert len(metadata_documents._failures) == 2
        assert_page(authorize_page(client, flood_url(0)), 400, "invalid_request", "HTTP 500")
        assert transport.calls == [flood_url(0), flood_url(1), flood_url(2), flood_url(0)]
        # A minute later the URL is tried again, and it works now.
        transport.failing.clear()
        clock.value += 59
        assert_page(authorize_page(client, flood_url(2)), 400, "invalid_request", "HTTP 500")
        clock.value += 1
        assert authorize_page(client, flood_url(2)).status_code == 200
    assert transport.calls[-1] == flood_url(2) and len(transport.calls) == 5


def test_cimd_ssrf_the_per_host_limit_is_not_remembered_against_the_url(client, user, transport, clock):
    """Refused because its host had too many fetches, a URL is fetched once the host may be again."""
    client.force_login(user)
    with override_settings(TWENTY_OAUTH={"CLIENT_METADATA_FETCH_LIMIT": "1/h"}):
        url, other = "https://one.example/a.json", "https://one.example/b.json"
        assert authorize_page(client, url).status_code == 200
        assert_page(authorize_page(client, other), 400, "invalid_request", "Too many metadata documents")
        clock.value += 3600
        assert authorize_page(client, other).status_code == 200
    assert transport.calls == [url, other]
