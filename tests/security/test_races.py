"""
Races on PostgreSQL, with real threads against a live server: one code redeemed twice at once
(RFC 6749 §4.1.2, RFC 9700 §4.2.4), one approved device code polled five times at once (RFC 8628
§3.5), one refresh token spent twenty times at once (RFC 9700 §4.14.2), a revocation racing a
refresh (RFC 7009 §2.1), a user revoking an app's access while its code is redeemed, and one
registration access token used by several updates and a deletion at once (RFC 7592 §2.2, §2.3).
Exactly one request wins, no token is duplicated or survives a revocation, and nothing answers 500.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import connection

from tests.conftest import (
    REDIRECT,
    decide_device,
    device_poll_request,
    obtain_code,
    pkce_pair,
    refresh_request,
    register,
    start_device,
)
from twenty_oauth.models import AccessToken, Client, DeviceGrant, RefreshToken, TokenFamily
from twenty_oauth.protocol import consents, opaque

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 4


def post(url: str, data: dict) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - the live server on 127.0.0.1
        url, data=urlencode(data).encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    return send(request)


def configure(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    """A request to a client configuration endpoint (RFC 7592 §2) with a registration access token."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    return send(urllib.request.Request(url, data=data, headers=headers, method=method))  # noqa: S310


def send(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:  # a 500 page: keep its start for the failure message
        return status, {"error": None, "body": raw[:200].decode("utf-8", "replace")}


def api_status(base: str, access_token: str) -> int:
    request = urllib.request.Request(  # noqa: S310
        base + "/rest/companies", headers={"Authorization": f"Bearer {access_token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def at_once(*calls) -> list[tuple[int, dict]]:
    """Run the calls in threads released together; return their (status, body) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(result is not None for result in results), "a request did not finish"
    assert all(status != 500 for status, _ in results), results
    return results


def first_tokens(http, base: str, user, oauth_client, secret) -> dict:
    """Tokens issued by the live server (so that it accepts them), from a code got in-process."""
    verifier, challenge = pkce_pair()
    code = obtain_code(http, user, oauth_client, challenge=challenge)
    status, body = post(base + "/oauth/token", redeem_data(oauth_client, secret, code, verifier))
    assert status == 200, body
    return body


def redeem_data(oauth_client, secret, code, verifier) -> dict:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": oauth_client.client_id,
        "client_secret": secret,
        "code_verifier": verifier,
    }


def test_rfc9700_4_2_4_concurrent_redemptions_of_one_code_exactly_one_wins(
    client, live_server, user, confidential
):
    oauth_client, secret = confidential
    url = live_server.url + "/oauth/token"
    for _ in range(ROUNDS):
        verifier, challenge = pkce_pair()
        code = obtain_code(client, user, oauth_client, challenge=challenge)
        data = redeem_data(oauth_client, secret, code, verifier)
        results = at_once(lambda data=data: post(url, data), lambda data=data: post(url, data))
        winners = [body for status, body in results if status == 200]
        losers = [body for status, body in results if status != 200]
        assert len(winners) == 1, results
        assert [(body["error"]) for body in losers] == ["invalid_grant"]
    # One family per code: no duplicate grant was created by the loser.
    assert TokenFamily.objects.count() == ROUNDS
    assert AccessToken.objects.count() == ROUNDS


def test_rfc8628_3_5_concurrent_polls_of_an_approved_device_code_exactly_one_wins(
    client, live_server, user, device_client
):
    url = live_server.url + "/oauth/token"
    for _ in range(ROUNDS):
        started = start_device(client, device_client)
        decide_device(client, user, started["user_code"])
        data = device_poll_request(device_client, started["device_code"])
        results = at_once(*[lambda data=data: post(url, data)] * 5)
        winners = [body for status, body in results if status == 200]
        assert len(winners) == 1, results
        assert sorted(body["error"] for status, body in results if status != 200) == ["invalid_grant"] * 4
    # One grant per device code: no loser wrote a family or a token.
    assert TokenFamily.objects.count() == ROUNDS
    assert AccessToken.objects.count() == ROUNDS
    assert RefreshToken.objects.count() == ROUNDS
    assert not DeviceGrant.objects.filter(used_at__isnull=True).exists()


def test_rfc9700_4_14_2_twenty_concurrent_refreshes_exactly_one_wins(client, live_server, user, confidential):
    oauth_client, secret = confidential
    base = live_server.url
    first = first_tokens(client, base, user, oauth_client, secret)
    data = refresh_request(oauth_client, first["refresh_token"], secret)
    results = at_once(*[lambda: post(base + "/oauth/token", data)] * 20)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * 19, statuses
    assert {body["error"] for status, body in results if status == 400} == {"invalid_grant"}
    family = TokenFamily.objects.get()
    # The original and exactly one successor; one access token per success.
    assert RefreshToken.objects.filter(family=family).count() == 2
    assert AccessToken.objects.filter(family=family).count() == 2
    assert len(set(RefreshToken.objects.values_list("token_digest", flat=True))) == 2


def test_rfc7009_2_1_concurrent_revocation_and_refresh_leave_no_live_token(
    client, live_server, user, confidential
):
    oauth_client, secret = confidential
    base = live_server.url
    for _ in range(ROUNDS):
        first = first_tokens(client, base, user, oauth_client, secret)
        refresh = refresh_request(oauth_client, first["refresh_token"], secret)
        revoke = {
            "token": first["refresh_token"],
            "client_id": oauth_client.client_id,
            "client_secret": secret,
        }
        results = at_once(
            lambda refresh=refresh: post(base + "/oauth/token", refresh),
            lambda revoke=revoke: post(base + "/oauth/revoke", revoke),
            lambda refresh=refresh: post(base + "/oauth/token", refresh),
        )
        assert results[1][0] == 200, results
        issued = [first] + [body for status, body in results if status == 200 and "access_token" in body]
        for body in issued:
            assert api_status(base, body["access_token"]) == 401
            status, answer = post(
                base + "/oauth/token", refresh_request(oauth_client, body["refresh_token"], secret)
            )
            assert (status, answer["error"]) == (400, "invalid_grant")
    live_families = TokenFamily.objects.filter(revoked_at__isnull=True)
    assert not live_families.exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()
    assert not RefreshToken.objects.filter(
        revoked_at__isnull=True, used_at__isnull=True, family__revoked_at__isnull=True
    ).exists()


def revoke_consent_in_thread(user, oauth_client) -> tuple[int, dict]:
    """What the user's "Revoke access" on /oauth/apps does, on this thread's own connection."""
    try:
        consents.revoke_consent(user, oauth_client)
    finally:
        connection.close()
    return 200, {}


def test_rfc9700_4_14_2_revoked_consent_racing_a_redemption_leaves_no_live_token(
    client, live_server, user, confidential
):
    oauth_client, secret = confidential
    base = live_server.url
    for _ in range(ROUNDS):
        verifier, challenge = pkce_pair()
        code = obtain_code(client, user, oauth_client, challenge=challenge)
        data = redeem_data(oauth_client, secret, code, verifier)
        results = at_once(
            lambda data=data: post(base + "/oauth/token", data),
            lambda: revoke_consent_in_thread(user, oauth_client),
        )
        status, body = results[0]
        if status == 200:  # redeemed first: the revocation ended what it issued
            assert api_status(base, body["access_token"]) == 401
        else:
            assert (status, body["error"]) == (400, "invalid_grant"), body
    assert not TokenFamily.objects.filter(revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()


def test_rfc7592_2_2_concurrent_updates_with_one_token_exactly_one_wins(client, live_server):
    answer = register(client)
    url = live_server.url + urlsplit(answer["registration_client_uri"]).path
    token = answer["registration_access_token"]
    for round_number in range(ROUNDS):
        bodies = [
            {
                "client_id": answer["client_id"],
                "redirect_uris": [REDIRECT],
                "client_name": f"{round_number}-{i}",
            }
            | {"token_endpoint_auth_method": "client_secret_post"}
            for i in range(5)
        ]
        results = at_once(
            *[lambda body=body, token=token: configure("PUT", url, token, body) for body in bodies]
        )
        winners = [body for status, body in results if status == 200]
        assert len(winners) == 1, results
        assert sorted(status for status, _ in results) == [200] + [401] * 4
        (winner,) = winners
        stored = Client.objects.get(client_id=answer["client_id"])
        # The row holds the winner's metadata and the winner's token, nothing of the losers'.
        assert stored.client_name == winner["client_name"]
        assert stored.registration_access_token_digest == opaque.digest(winner["registration_access_token"])
        token = winner["registration_access_token"]


def test_rfc7592_2_3_an_update_racing_a_deletion_leaves_one_outcome(client, live_server):
    for _ in range(ROUNDS):
        answer = register(client)
        url = live_server.url + urlsplit(answer["registration_client_uri"]).path
        token = answer["registration_access_token"]
        update = {
            "client_id": answer["client_id"],
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "client_secret_post",
            "client_name": "Updated",
        }
        (updated, _), (deleted, _) = at_once(
            lambda url=url, token=token, update=update: configure("PUT", url, token, update),
            lambda url=url, token=token: configure("DELETE", url, token),
        )
        assert sorted((updated, deleted)) in ([200, 401], [204, 401]), (updated, deleted)
        stored = Client.objects.get(client_id=answer["client_id"])
        assert stored.is_active == (updated == 200)
        assert stored.has_registration_access_token == (updated == 200)
