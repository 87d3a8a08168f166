"""
The client configuration endpoint under attack (RFC 7592 §2, RFC 6750 §3.1): wrong, missing,
spent or borrowed registration access tokens, updates that try to set what the server sets or
to choose a secret, hostile ids and bodies, and floods. A refusal says nothing about whether the
client exists, and writes nothing.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import override_settings

from tests.conftest import REDIRECT, basic, code_tokens, configure, register
from tests.factories import ClientFactory, make_client
from tests.security.conftest import api_status, assert_oauth_error, row_counts
from twenty_oauth.models import Client
from twenty_oauth.protocol import opaque

pytestmark = pytest.mark.django_db

METADATA = {
    "client_name": "Victim",
    "redirect_uris": [REDIRECT],
    "token_endpoint_auth_method": "client_secret_post",
}
METHODS = ("get", "put", "delete")


def rows() -> list[dict]:
    """Every client row as stored: a refused request must leave each byte as it was."""
    return list(Client.objects.order_by("pk").values())


def assert_refused(response) -> dict:
    """The one refusal (RFC 6750 §3.1): 401, ``invalid_token``, the same challenge, no-store."""
    body = assert_oauth_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response["Cache-Control"] == "no-store"
    return body


def update_of(answer: dict, **change) -> dict:
    return {**METADATA, "client_id": answer["client_id"], **change}


def attempt(http, method: str, answer: dict, token: str | None, **headers):
    body = update_of(answer) if method == "put" else None
    return configure(http, method, answer["registration_client_uri"], token, body, **headers)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "Basic d3Jvbmc6d3Jvbmc=",
        "bearer-ish token",
        "Bearer " + "a" * 5000,
    ],
)
def test_rfc6750_3_1_a_missing_or_wrong_token_is_401_invalid_token(client, method, authorization):
    answer = register(client, **METADATA)
    before = rows()
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    assert_refused(attempt(client, method, answer, None, **headers))
    assert rows() == before


@pytest.mark.parametrize("method", METHODS)
def test_rfc7592_2_the_clients_other_credentials_are_not_its_registration_token(client, user, method):
    answer = register(client, **METADATA)
    issued = code_tokens(
        client, user, Client.objects.get(client_id=answer["client_id"]), answer["client_secret"]
    )
    before = rows()
    for credential in (answer["client_secret"], issued["access_token"], issued["refresh_token"]):
        assert_refused(attempt(client, method, answer, credential))
    # Nor does client authentication stand in for it.
    assert_refused(
        attempt(
            client,
            method,
            answer,
            None,
            HTTP_AUTHORIZATION=basic(answer["client_id"], answer["client_secret"]),
        )
    )
    assert rows() == before


@pytest.mark.parametrize("method", METHODS)
def test_rfc7592_2_a_token_of_another_client_is_refused_like_an_unknown_one(client, method):
    victim, attacker = register(client, **METADATA), register(client, **METADATA)
    before = rows()
    borrowed = assert_refused(attempt(client, method, victim, attacker["registration_access_token"]))
    unknown = assert_refused(attempt(client, method, victim, "not-a-token"))
    # A valid token on the URL of a client that does not exist answers the same: nothing tells
    # whether a client_id is registered.
    nowhere = {**victim, "registration_client_uri": "http://testserver/oauth/register/no-such-client"}
    missing = assert_refused(attempt(client, method, nowhere, attacker["registration_access_token"]))
    assert borrowed == unknown == missing
    assert rows() == before
    # The attacker's own token still works on its own registration.
    assert attempt(client, "get", attacker, attacker["registration_access_token"]).status_code == 200


def test_rfc7592_2_2_a_token_spent_by_an_update_never_works_again(client):
    answer = register(client, **METADATA)
    spent = answer["registration_access_token"]
    first = attempt(client, "put", answer, spent)
    assert first.status_code == 200
    current = first.json()["registration_access_token"]
    before = rows()
    for method in METHODS:
        assert_refused(attempt(client, method, answer, spent))
    assert rows() == before
    assert attempt(client, "get", answer, current).status_code == 200


def test_rfc7592_2_3_a_deleted_clients_token_stays_dead(client, user):
    answer = register(client, **METADATA)
    token = answer["registration_access_token"]
    assert attempt(client, "delete", answer, token).status_code == 204
    before = rows()
    for method in METHODS:
        assert_refused(attempt(client, method, answer, token))
    assert rows() == before
    # Nor does a fresh registration with the same metadata inherit anything of it.
    again = register(client, **METADATA)
    assert again["client_id"] != answer["client_id"]
    assert_refused(attempt(client, "get", again, token))


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": None},
        {"client_id": "someone-else"},
        {"client_id": 7},
        {"client_id": ["x"]},
    ],
)
def test_rfc7592_2_2_an_update_must_name_the_clients_own_id(client, change):
    answer = register(client, **METADATA)
    other = register(client, **METADATA)
    before = rows()
    for body in (update_of(answer, **change), update_of(answer, client_id=other["client_id"])):
        response = configure(
            client, "put", answer["registration_client_uri"], answer["registration_access_token"], body
        )
        assert "client_id" in assert_oauth_error(response, 400, "invalid_request")["error_description"]
    assert rows() == before
    # The token was not spent by a refused update.
    assert attempt(client, "get", answer, answer["registration_access_token"]).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"client_secret_expires_at": 4102444800},
        {"client_secret_expires_at": "0"},
        {"client_id_issued_at": 1},
        {"registration_client_uri": "https://attacker.example/oauth/register/x"},
        {"registration_access_token": "chosen-by-the-client"},
        {"registration_access_token": 1},
        {"client_secret": "chosen-by-the-client"},
        {"client_secret": ""},
        {"client_secret": ["x"]},
    ],
)
def test_rfc7592_2_2_an_update_cannot_set_what_the_server_sets(client, change):
    answer = register(client, **METADATA)
    before = rows()
    response = configure(
        client,
        "put",
        answer["registration_client_uri"],
        answer["registration_access_token"],
        update_of(answer, **change),
    )
    body = assert_oauth_error(response, 400, "invalid_request")
    assert next(iter(change)) in body["error_description"]
    assert rows() == before
    # The secret of the registration is still the one that works.
    row = Client.objects.get(client_id=answer["client_id"])
    assert opaque.matches(answer["client_secret"], row.client_secret_digest)


def test_rfc7592_2_2_a_public_client_cannot_give_itself_a_secret(client):
    answer = register(client, token_endpoint_auth_method="none", redirect_uris=[REDIRECT])
    before = rows()
    for method in ("none", "client_secret_post"):
        body = {
            "client_id": answer["client_id"],
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": method,
        }
        response = configure(
            client,
            "put",
            answer["registration_client_uri"],
            answer["registration_access_token"],
            {**body, "client_secret": "chosen-by-the-client"},
        )
        assert response.status_code == 400
        assert response.json()["error"] in ("invalid_request", "invalid_client_metadata")
        assert "client_secret" not in response.json()
    assert rows() == before


@pytest.mark.parametrize(
    "payload, content_type, status, error",
    [
        ("{not json", "application/json", 400, "invalid_client_metadata"),
        ("[1, 2]", "application/json", 400, "invalid_client_metadata"),
        ("[" * 40 + "]" * 40, "application/json", 400, "invalid_client_metadata"),
        ('{"client_name": "\\u0000"}', "application/json", 400, "invalid_client_metadata"),
        ('{"client_name": "\\ud800"}', "application/json", 400, "invalid_client_metadata"),
        (b"\xff\xfe", "application/json", 400, "invalid_client_metadata"),
        ('{"client_name": "' + "x" * 300_000 + '"}', "application/json", 413, "invalid_request"),
        ("client_name=x", "application/x-www-form-urlencoded", 400, "invalid_client_metadata"),
        ("", "application/json", 400, "invalid_client_metadata"),
    ],
)
def test_rfc7591_3_2_2_a_hostile_update_body_changes_nothing(client, payload, content_type, status, error):
    answer = register(client, **METADATA)
    before = rows()
    response = configure(
        client,
        "put",
        answer["registration_client_uri"],
        answer["registration_access_token"],
        payload,
        content_type=content_type,
    )
    assert_oauth_error(response, status, error)
    assert rows() == before


@pytest.mark.parametrize(
    "path",
    [
        "/oauth/register/%00",
        "/oauth/register/..%2F..%2Fadmin",
        "/oauth/register/https://app.example.com/client.json",
        "/oauth/register/" + quote("é" * 300),
        "/oauth/register/" + "x" * 5000,
        "/oauth/register/%ff%fe",
        "/oauth/register/a/b/c",
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_rfc7592_2_any_client_id_in_the_url_gets_the_same_401(client, path, method):
    answer = register(client, **METADATA)
    before = row_counts()
    body = update_of(answer) if method == "put" else None
    response = configure(
        client, method, "http://testserver" + path, answer["registration_access_token"], body
    )
    assert_refused(response)
    assert row_counts() == before


@pytest.mark.parametrize("method", METHODS)
def test_rfc7592_staff_made_clients_have_no_registration_token(client, method):
    """Clients made in the admin or by the command are managed by staff alone."""
    made, secret = make_client()
    assert not made.has_registration_access_token
    factory_made, factory_secret = ClientFactory.with_secret()
    before = rows()
    for oauth_client, credential in ((made, secret), (factory_made, factory_secret), (made, "")):
        information = {
            "client_id": oauth_client.client_id,
            "registration_client_uri": f"/oauth/register/{oauth_client.client_id}",
        }
        assert_refused(attempt(client, method, information, credential))
    assert rows() == before


def test_rfc7592_2_an_inactive_client_cannot_manage_itself(client, user):
    """Deactivated by staff, a client cannot bring itself back nor read what it was."""
    answer = register(client, **METADATA)
    Client.objects.filter(client_id=answer["client_id"]).update(is_active=False)
    before = rows()
    for method in METHODS:
        assert_refused(attempt(client, method, answer, answer["registration_access_token"]))
    assert rows() == before


def test_rfc6585_4_the_endpoint_is_rate_limited_per_ip(client):
    answer = register(client, **METADATA)
    token = answer["registration_access_token"]
    with override_settings(TWENTY_OAUTH={"REGISTRATION_RATE_LIMIT": "3/h"}):
        address = {"REMOTE_ADDR": "203.0.113.20"}
        assert_refused(attempt(client, "get", answer, "guess", **address))
        assert_refused(attempt(client, "get", answer, "guess", **address))
        assert attempt(client, "get", answer, token, **address).status_code == 200
        # The budget is spent: even the right token waits, so a guesser cannot tell a hit.
        before = rows()
        for method in METHODS:
            response = attempt(client, method, answer, token, **address)
            assert_oauth_error(response, 429, "too_many_requests")
            assert 1 <= int(response["Retry-After"]) <= 3600
        assert rows() == before
        # Another address has its own budget.
        assert attempt(client, "get", answer, token, REMOTE_ADDR="203.0.113.21").status_code == 200


def test_rfc7592_2_a_deleted_client_takes_its_users_tokens_with_it(client, user):
    """RFC 7592 §2.3 with RFC 7009 §2.1: a token verified a moment before is refused a moment after."""
    answer = register(client, **METADATA)
    issued = code_tokens(
        client, user, Client.objects.get(client_id=answer["client_id"]), answer["client_secret"]
    )
    assert api_status(client, issued["access_token"]) == 200
    assert attempt(client, "delete", answer, answer["registration_access_token"]).status_code == 204
    assert api_status(client, issued["access_token"]) == 401
