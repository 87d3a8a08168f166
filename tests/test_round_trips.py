"""
Round trips to PostgreSQL on the request paths: 2 for a token request (the grant presented, read
with its client, or the client alone; then the one statement that writes), 1 for a device's
pending poll and for a bearer check. They are counted on the wire, from libpq's trace of the
messages the connection sends, so that the BEGIN and COMMIT of a transaction count as well as
its statements: each simple ``Query`` message, and each ``Sync`` of the extended protocol, is one
wait for the server.
The requests run outside a test transaction (``transaction=True``), as they do in production.
"""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import (
    basic,
    code_request,
    code_tokens,
    decide_device,
    device_poll,
    obtain_code,
    pkce_pair,
    refresh_request,
    start_device,
    token_request,
)
from tests.dpop import DPoPKey
from twenty_oauth.models import AccessToken, Client, RefreshToken, TokenFamily
from twenty_oauth.protocol.keys import keyring

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


MESSAGE = re.compile(r"F\t\d+\t(\w+)\t?(.*)")


class Trace:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []  # type, then the start of what it carries

    @property
    def round_trips(self) -> int:
        return sum(1 for kind, _ in self.messages if kind in ("Query", "Sync"))


@contextmanager
def wire():
    """The messages the client sends to the server while the block runs, by type."""
    from psycopg import pq  # only where PostgreSQL is in use

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    trace = Trace()
    with tempfile.TemporaryFile() as log:
        pgconn.trace(log.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield trace
        finally:
            pgconn.untrace()
            log.seek(0)
            lines = log.read().decode("utf-8", "replace").splitlines()
    # A message starts a line "F|B<tab>length<tab>type<tab>contents" (F: what the client sent);
    # the contents may go on over more lines.
    sent = (MESSAGE.match(line) for line in lines)
    trace.messages = [(found[1], found[2][:120]) for found in sent if found is not None]


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.fail("These tests count PostgreSQL's round trips; run them with TWENTY_DB=postgres.")
    keyring.signing_key()  # a signing key exists, as it does once a site is set up


def recently_used(oauth_client: Client) -> None:
    """A client used a moment ago: authenticating it again records nothing (see client_auth)."""
    Client.objects.filter(pk=oauth_client.pk).update(last_used_at=timezone.now() - timedelta(seconds=1))


def test_client_credentials_token_in_two_round_trips(client, service):
    oauth_client, secret = service
    recently_used(oauth_client)
    with wire() as trace:
        response = token_request(
            client,
            {"grant_type": "client_credentials", "scope": "api"},
            HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
        )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"
    assert trace.round_trips == 2, trace.messages


def test_code_exchange_in_two_round_trips(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    recently_used(oauth_client)
    with wire() as trace:
        response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 200, response.content
    assert {"access_token", "refresh_token"} <= response.json().keys()
    assert trace.round_trips == 2, trace.messages


def test_openid_code_exchange_in_two_round_trips(client, user, confidential):
    """OpenID Connect Core §3.1.3: the subject, nonce and auth_time come with the code's row."""
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(
        client,
        user,
        oauth_client,
        scope="openid profile offline_access",
        challenge=challenge,
        extra={"nonce": "n"},
    )
    recently_used(oauth_client)
    with wire() as trace:
        response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 200, response.content
    assert {"access_token", "refresh_token", "id_token"} <= response.json().keys()
    assert trace.round_trips == 2, trace.messages


def test_openid_refresh_in_two_round_trips(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="openid offline_access")
    recently_used(oauth_client)
    with wire() as trace:
        response = token_request(client, refresh_request(oauth_client, body["refresh_token"], secret))
    assert response.status_code == 200, response.content
    assert response.json()["id_token"]
    assert trace.round_trips == 2, trace.messages


def test_refresh_in_two_round_trips(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret)
    recently_used(oauth_client)
    with wire() as trace:
        response = token_request(client, refresh_request(oauth_client, body["refresh_token"], secret))
    assert response.status_code == 200, response.content
    assert response.json()["refresh_token"] != body["refresh_token"]
    assert trace.round_trips == 2, trace.messages


def test_device_code_redemption_in_two_round_trips(client, user, device_client):
    """RFC 8628 §3.5: the device grant with its user and client, then one statement that spends it."""
    started = start_device(client, device_client, scope="api profile")
    decide_device(client, user, started["user_code"])
    recently_used(device_client)
    with wire() as trace:
        response = device_poll(client, device_client, started["device_code"])
    assert response.status_code == 200, response.content
    assert {"access_token", "refresh_token"} <= response.json().keys()
    assert trace.round_trips == 2, trace.messages


def test_a_pending_device_poll_in_one_round_trip(client, device_client):
    """
    RFC 8628 §3.5: a device polls every few seconds until its person decides. A pending poll
    reads the device grant with its client and writes nothing to the database: its pace is kept
    in the cache. So does a poll that comes too soon (slow_down).
    """
    started = start_device(client, device_client)
    recently_used(device_client)
    for expected in ("authorization_pending", "slow_down"):
        with wire() as trace, CaptureQueriesContext(connection) as captured:
            response = device_poll(client, device_client, started["device_code"])
        assert response.status_code == 400
        assert response.json()["error"] == expected
        assert trace.round_trips == 1, trace.messages
        # Django's log of the statements: the wire holds their text only until they are prepared.
        assert [query["sql"].split(" ", 1)[0] for query in captured] == ["SELECT"]


def test_bearer_check_in_one_round_trip(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    for _ in range(2):  # the first check of a token, then one whose signature is known
        with wire() as trace:
            response = client.get("/rest/constant", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content
        assert trace.round_trips == 1, trace.messages


def test_dpop_code_exchange_and_check_add_no_round_trip(client, user, confidential):
    """RFC 9449: the proof's checks run in memory and its jti goes to the cache, not the database."""
    oauth_client, secret = confidential
    key = DPoPKey()
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    recently_used(oauth_client)
    with wire() as trace:
        response = token_request(
            client, code_request(oauth_client, code, verifier, secret), HTTP_DPOP=key.proof()
        )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert trace.round_trips == 2, trace.messages
    token = response.json()["access_token"]
    for _ in range(2):
        proof = key.proof("http://testserver/rest/constant", "GET", access_token=token)
        with wire() as trace:
            response = client.get("/rest/constant", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
        assert response.status_code == 200, response.content
        assert trace.round_trips == 1, trace.messages


def test_a_lost_race_writes_nothing(client, user, confidential):
    """The one-statement write spends the code first: a second redemption inserts no token."""
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    assert token_request(client, code_request(oauth_client, code, verifier, secret)).status_code == 200
    counts = (TokenFamily.objects.count(), AccessToken.objects.count(), RefreshToken.objects.count())
    again = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert (TokenFamily.objects.count(), AccessToken.objects.count(), RefreshToken.objects.count()) == counts
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()


def test_the_trace_sees_a_transaction():
    """The counter counts BEGIN and COMMIT, which no execute wrapper sees."""
    with wire() as trace, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert trace.round_trips == 3, trace.messages
