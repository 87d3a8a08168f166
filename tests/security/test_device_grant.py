"""
The device authorization grant under attack (RFC 8628 §5): guessing user codes, polling too
fast, replaying a device code, using one after it expired or with another client, a denied
request, and a person tricked into approving (remote phishing, §5.4). Every refusal is the RFC's
error and status, and none approves or issues anything.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from tests.conftest import (
    DEVICE_CODE,
    api_status,
    confirm_device,
    decide_device,
    device_authorization,
    device_poll,
    device_tokens,
    start_device,
)
from tests.factories import UserFactory, make_client
from tests.security.conftest import assert_oauth_error
from twenty_oauth.models import Consent, DeviceGrant, TokenFamily

pytestmark = pytest.mark.django_db

#: An hourly window: a test never straddles two windows, so counts are exact.
TIGHT = "3/h"


def wrong_codes(http, user, count: int, address: str = "127.0.0.1") -> None:
    http.force_login(user)
    for _ in range(count):
        response = http.post("/oauth/device", {"user_code": "BBBB-BBBB"}, REMOTE_ADDR=address)
        assert response.status_code == 400
        assert "This code is not valid" in response.content.decode()


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    html = response.content.decode()
    assert "Too many wrong codes" in html
    assert "signed_grant" not in (response.context or {}) or not response.context.get("signed_grant")
    assert 'name="grant"' not in html
    assert response["X-Frame-Options"] == "DENY"


# --- §5.1: guessing the user code ---------------------------------------------------------------


@override_settings(TWENTY_OAUTH={"USER_CODE_FAILURE_LIMIT": TIGHT})
def test_rfc8628_5_1_user_code_guesses_are_limited_per_user(client, user, device_client):
    started = start_device(client, device_client)
    wrong_codes(client, user, 3, address="198.51.100.1")
    # Even the right code is refused once this user has guessed too often, from any address.
    refused = client.post("/oauth/device", {"user_code": started["user_code"]}, REMOTE_ADDR="198.51.100.2")
    assert_locked_out(refused)
    assert DeviceGrant.objects.get().approved_at is None
    # Another person, elsewhere, still can.
    other = HttpClient()
    assert confirm_device(other, UserFactory(), started["user_code"]).status_code == 200


@override_settings(TWENTY_OAUTH={"USER_CODE_FAILURE_LIMIT": TIGHT})
def test_rfc8628_5_1_user_code_guesses_are_limited_per_address(client, device_client):
    started = start_device(client, device_client)
    # Three accounts from one address: together they reach the address's limit.
    for _ in range(3):
        wrong_codes(HttpClient(), UserFactory(), 1, address="203.0.113.7")
    guesser = HttpClient()
    guesser.force_login(UserFactory())
    refused = guesser.post("/oauth/device", {"user_code": started["user_code"]}, REMOTE_ADDR="203.0.113.7")
    assert_locked_out(refused)
    elsewhere = guesser.post("/oauth/device", {"user_code": started["user_code"]}, REMOTE_ADDR="203.0.113.8")
    assert elsewhere.status_code == 200


@override_settings(TWENTY_OAUTH={"USER_CODE_FAILURE_LIMIT": TIGHT})
def test_rfc8628_5_1_text_that_cannot_be_a_code_is_not_a_guess(client, user, device_client):
    started = start_device(client, device_client)
    client.force_login(user)
    for typed in ("hello", "AAAA-AAAA", "BCDF-GHJ", "ＢＣＤＦＧＨＪＫ", "BCDF GHJK Z"):
        response = client.post("/oauth/device", {"user_code": typed})
        assert response.status_code == 400
        assert "A code has 8 letters" in response.content.decode()
    assert confirm_device(client, user, started["user_code"]).status_code == 200


def test_rfc8628_6_1_user_codes_are_eight_consonants_each_new(client, device_client):
    codes = {start_device(client, device_client)["user_code"] for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code)
    assert len(set("".join(codes).replace("-", ""))) > 15  # drawn from the whole alphabet


# --- §3.5: polling -----------------------------------------------------------------------------


def test_rfc8628_3_5_polling_faster_than_the_interval_is_slow_down_remembered_for_that_code(
    client, device_client, clock
):
    started = start_device(client, device_client)
    other = start_device(client, device_client)
    code = started["device_code"]
    assert_oauth_error(device_poll(client, device_client, code), 400, "authorization_pending")
    clock.advance(1)
    body = assert_oauth_error(device_poll(client, device_client, code), 400, "slow_down")
    assert body["error_description"] == "Poll at most once every 10 seconds."
    # The interval is now 10 s for this code: 9 s later is still too soon, and adds 5 more.
    clock.advance(9)
    body = assert_oauth_error(device_poll(client, device_client, code), 400, "slow_down")
    assert body["error_description"] == "Poll at most once every 15 seconds."
    clock.advance(15)
    assert_oauth_error(device_poll(client, device_client, code), 400, "authorization_pending")
    clock.advance(15)
    assert_oauth_error(device_poll(client, device_client, code), 400, "authorization_pending")
    # Another device code keeps its own pace.
    assert_oauth_error(device_poll(client, device_client, other["device_code"]), 400, "authorization_pending")
    clock.advance(5)
    assert_oauth_error(device_poll(client, device_client, other["device_code"]), 400, "authorization_pending")


def test_rfc8628_3_5_a_slow_device_is_never_told_to_slow_down(client, user, device_client, clock):
    started = start_device(client, device_client)
    for _ in range(4):
        assert_oauth_error(
            device_poll(client, device_client, started["device_code"]), 400, "authorization_pending"
        )
        clock.advance(5)
    decide_device(client, user, started["user_code"])
    assert device_poll(client, device_client, started["device_code"]).status_code == 200


def test_rfc8628_3_5_an_approved_code_redeems_even_when_polled_early(client, user, device_client):
    """Pacing applies while pending: the first poll after approval gets the tokens."""
    started = start_device(client, device_client)
    assert_oauth_error(
        device_poll(client, device_client, started["device_code"]), 400, "authorization_pending"
    )
    decide_device(client, user, started["user_code"])
    assert device_poll(client, device_client, started["device_code"]).status_code == 200


# --- §3.5, RFC 6749 §5.2: device codes that must not redeem -------------------------------------


def test_rfc8628_3_5_device_code_replay_is_refused_and_revokes_its_tokens(client, user, device_client):
    started = start_device(client, device_client)
    decide_device(client, user, started["user_code"])
    first = device_poll(client, device_client, started["device_code"])
    assert first.status_code == 200
    body = first.json()
    assert api_status(client, body["access_token"]) == 200
    replay = assert_oauth_error(
        device_poll(client, device_client, started["device_code"]), 400, "invalid_grant"
    )
    assert started["device_code"] not in str(replay)
    # As for a replayed authorization code (RFC 6749 §4.1.2): what it issued is ended.
    assert api_status(client, body["access_token"]) == 401
    again = client.post(
        "/oauth/token",
        f"grant_type=refresh_token&refresh_token={body['refresh_token']}&client_id={device_client.client_id}",
        content_type="application/x-www-form-urlencoded",
    )
    assert_oauth_error(again, 400, "invalid_grant")
    assert TokenFamily.objects.count() == 1


def test_rfc8628_3_5_an_expired_device_code_is_expired_token(client, user, device_client, clock):
    pending = start_device(client, device_client)
    approved = start_device(client, device_client)
    decide_device(client, user, approved["user_code"])
    clock.advance(600)
    for started in (pending, approved):
        body = assert_oauth_error(
            device_poll(client, device_client, started["device_code"]), 400, "expired_token"
        )
        assert body == {
            "error": "expired_token",
            "error_description": "The device code has expired; start again.",
        }
    # And the person can no longer approve the pending one.
    late = confirm_device(client, user, pending["user_code"])
    assert late.status_code == 400
    assert "not valid, or it has expired" in late.content.decode()
    assert not TokenFamily.objects.exists()


def test_rfc6749_5_2_a_device_code_of_another_client_is_invalid_grant(client, user, device_client):
    thief, _ = make_client(
        client_name="Thief", token_endpoint_auth_method="none", grant_types=[DEVICE_CODE], redirect_uris=[]
    )
    started = start_device(client, device_client)
    decide_device(client, user, started["user_code"])
    stolen = assert_oauth_error(device_poll(client, thief, started["device_code"]), 400, "invalid_grant")
    assert stolen["error_description"] == "The device code is invalid."
    assert not TokenFamily.objects.exists()
    # The rightful device still redeems it.
    assert device_poll(client, device_client, started["device_code"]).status_code == 200


def test_rfc6749_5_2_an_unknown_or_missing_device_code(client, device_client):
    assert_oauth_error(device_poll(client, device_client, "not-a-device-code"), 400, "invalid_grant")
    missing = client.post(
        "/oauth/token",
        f"grant_type={DEVICE_CODE}&client_id={device_client.client_id}",
        content_type="application/x-www-form-urlencoded",
    )
    body = assert_oauth_error(missing, 400, "invalid_request")
    assert body["error_description"] == "device_code is required."


def test_rfc8628_3_5_a_denied_grant_stays_denied(client, user, device_client):
    started = start_device(client, device_client)
    consent = confirm_device(client, user, started["user_code"])
    signed = consent.context["signed_grant"]
    client.post("/oauth/device", {"grant": signed, "deny": "1"})
    for _ in range(2):
        denied = assert_oauth_error(
            device_poll(client, device_client, started["device_code"]), 400, "access_denied"
        )
        assert denied["error_description"] == "The user denied the request."
    # The same form posted again with Allow changes nothing: a grant is decided once.
    again = client.post("/oauth/device", {"grant": signed, "allow": "1"})
    assert again.status_code == 400
    assert "expired or was already used" in again.content.decode()
    assert DeviceGrant.objects.get().approved_at is None
    assert not Consent.objects.exists()


# --- §5.4: remote phishing, and the forms ------------------------------------------------------


def test_rfc8628_5_4_opening_verification_uri_complete_approves_nothing(client, user, device_client):
    started = start_device(client, device_client)
    client.force_login(user)
    for _ in range(3):
        page = client.get("/oauth/device", {"user_code": started["user_code"]})
        assert page.status_code == 200
        assert 'name="grant"' not in page.content.decode()
    assert_oauth_error(
        device_poll(client, device_client, started["device_code"]), 400, "authorization_pending"
    )
    assert DeviceGrant.objects.get().approved_at is None and not Consent.objects.exists()


def test_rfc8628_5_4_the_consent_screen_warns_and_shows_the_code(client, user, device_client):
    started = start_device(client, device_client)
    html = confirm_device(client, user, started["user_code"]).content.decode()
    assert "A device will get access to your account." in html
    assert "If someone sent you this code or a link to this page, deny" in html
    assert started["user_code"] in html


def test_the_decision_is_bound_to_the_person_who_confirmed_the_code(client, user, device_client):
    started = start_device(client, device_client)
    signed = confirm_device(client, user, started["user_code"]).context["signed_grant"]
    mallory = HttpClient()
    mallory.force_login(UserFactory())
    forged = mallory.post("/oauth/device", {"grant": signed, "allow": "1"})
    assert forged.status_code == 400
    assert "This form was changed or has expired" in forged.content.decode()
    tampered = client.post("/oauth/device", {"grant": signed[:-2] + "xx", "allow": "1"})
    assert tampered.status_code == 400
    bare = client.post("/oauth/device", {"grant": str(DeviceGrant.objects.get().pk), "allow": "1"})
    assert bare.status_code == 400
    assert DeviceGrant.objects.get().approved_at is None


def test_rfc6749_10_12_the_device_forms_need_the_csrf_token(user, device_client):
    http = HttpClient(enforce_csrf_checks=True)
    started = start_device(http, device_client)
    http.force_login(user)
    assert http.post("/oauth/device", {"user_code": started["user_code"]}).status_code == 403
    page = http.get("/oauth/device")
    token = page.cookies["csrftoken"].value
    consent = http.post("/oauth/device", {"user_code": started["user_code"], "csrfmiddlewaretoken": token})
    assert consent.status_code == 200
    signed = consent.context["signed_grant"]
    assert http.post("/oauth/device", {"grant": signed, "allow": "1"}).status_code == 403
    assert DeviceGrant.objects.get().approved_at is None


def test_rfc9700_4_16_no_device_page_can_be_framed(client, user, device_client):
    started = start_device(client, device_client)
    client.force_login(user)
    pages = [
        client.get("/oauth/device"),
        client.post("/oauth/device", {"user_code": "BBBB-BBBB"}),
        confirm := client.post("/oauth/device", {"user_code": started["user_code"]}),
        client.post("/oauth/device", {"grant": confirm.context["signed_grant"], "allow": "1"}),
        client.post("/oauth/device", {"grant": "forged", "allow": "1"}),
    ]
    for page in pages:
        assert page["X-Frame-Options"] == "DENY"
        assert page["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert "no-store" in page["Cache-Control"]


def test_an_inactive_clients_code_is_not_found(client, user, device_client):
    started = start_device(client, device_client)
    type(device_client).objects.filter(pk=device_client.pk).update(is_active=False)
    assert confirm_device(client, user, started["user_code"]).status_code == 400
    assert_oauth_error(device_poll(client, device_client, started["device_code"]), 401, "invalid_client")


def test_a_public_client_cannot_claim_a_confidential_clients_device_code(client, user):
    tv, secret = make_client(
        client_name="TV",
        token_endpoint_auth_method="client_secret_post",
        grant_types=[DEVICE_CODE],
        redirect_uris=[],
    )
    body = device_tokens(client, user, tv, secret)
    assert api_status(client, body["access_token"]) == 200
    started = start_device(client, tv, secret)
    decide_device(client, user, started["user_code"])
    no_secret = device_poll(client, tv, started["device_code"])
    assert_oauth_error(no_secret, 401, "invalid_client")
    refused = device_authorization(client, {"client_id": tv.client_id})
    assert_oauth_error(refused, 401, "invalid_client")


def test_rfc8628_3_5_an_unreachable_cache_leaves_polls_unpaced_not_refused(
    client, user, device_client, caplog
):
    """With the shared cache down, a device is not slowed down (and the log says so); nothing is a 500."""
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:18199/0",
        },
    }
    with override_settings(CACHES=caches, TWENTY_OAUTH={"RATE_LIMIT_CACHE": "ratelimit"}):
        started = start_device(client, device_client)
        for _ in range(3):
            assert_oauth_error(
                device_poll(client, device_client, started["device_code"]), 400, "authorization_pending"
            )
        wrong_codes(client, user, 2)
        decide_device(client, user, started["user_code"])
        assert device_poll(client, device_client, started["device_code"]).status_code == 200
    assert "device polling cache unavailable" in caplog.text
    assert "rate-limit cache unavailable" in caplog.text
