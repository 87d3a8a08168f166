"""
The client configuration endpoint (RFC 7592): a dynamically registered client reads, replaces and
deletes its own registration with the registration access token its registration answer gave it,
and what each change ends (codes, tokens) ends at once.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.conftest import (
    REDIRECT,
    api_status,
    authorize,
    code_request,
    code_tokens,
    configure,
    metadata_of,
    obtain_code,
    pkce_pair,
    query_of,
    refresh,
    register,
    token_request,
)
from tests.factories import ClientKey
from twenty_oauth.models import AccessToken, AuthorizationCode, Client, Consent, RefreshToken, TokenFamily
from twenty_oauth.protocol import opaque

pytestmark = pytest.mark.django_db

FULL = {
    "client_name": "Self-managed App",
    "redirect_uris": [REDIRECT],
    "token_endpoint_auth_method": "client_secret_post",
    "scope": "api profile",
    "client_uri": "https://app.example.com",
    "logo_uri": "https://app.example.com/logo.png",
    "contacts": ["dev@app.example.com"],
    "software_id": "self-managed",
    "software_version": "1.0",
}


def assert_refused(response) -> None:
    """RFC 6750 §3.1 as RFC 7592 §2 asks: 401, invalid_token, never more said."""
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "invalid_token"


def stored(answer: dict) -> Client:
    return Client.objects.get(client_id=answer["client_id"])


def test_rfc7592_3_registration_answer_names_the_endpoint_and_its_token(client):
    answer = register(client, **FULL)
    assert answer["registration_client_uri"] == f"http://testserver/oauth/register/{answer['client_id']}"
    token = answer["registration_access_token"]
    assert len(token) >= 43 and token != answer["client_secret"]
    row = stored(answer)
    assert row.registration_access_token_digest == opaque.digest(token)
    assert row.has_registration_access_token
    # Only the digest is kept: the token is in no column of any row.
    assert token not in json.dumps(list(Client.objects.values()), default=str)


def test_rfc7592_2_1_read_answers_the_registration_without_its_credentials(client):
    answer = register(client, **FULL)
    response = configure(
        client, "get", answer["registration_client_uri"], answer["registration_access_token"]
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    read = response.json()
    expected = {k: v for k, v in answer.items() if k not in ("client_secret", "registration_access_token")}
    assert read == expected
    assert read["client_secret_expires_at"] == 0
    # A read rotates nothing: the same token reads again.
    again = configure(client, "get", answer["registration_client_uri"], answer["registration_access_token"])
    assert again.status_code == 200 and again.json() == read


def test_rfc7592_2_1_a_public_client_reads_no_secret_expiry(client):
    answer = register(client, token_endpoint_auth_method="none", redirect_uris=["http://127.0.0.1/cb"])
    read = configure(
        client, "get", answer["registration_client_uri"], answer["registration_access_token"]
    ).json()
    assert read["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in read and "client_secret_expires_at" not in read


def test_rfc7592_2_2_update_replaces_the_metadata_and_rotates_the_token(client):
    answer = register(client, **FULL)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    update = {
        "client_id": answer["client_id"],
        "client_name": "Renamed App",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "api",
        "contacts": None,  # null is an absent member
    }
    response = configure(client, "put", uri, token, update)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["client_name"] == "Renamed App" and body["scope"] == "api"
    # Replace, not merge: what the update left out is gone (RFC 7592 §2.2).
    for name in ("client_uri", "logo_uri", "contacts", "software_id", "software_version"):
        assert name not in body, name
    assert body["registration_client_uri"] == uri
    assert body["client_id_issued_at"] == answer["client_id_issued_at"]
    assert "client_secret" not in body  # the secret stays as it was
    new_token = body["registration_access_token"]
    assert new_token != token
    row = stored(answer)
    assert (row.client_uri, row.contacts, row.software_id) == ("", [], "")
    assert row.registration_access_token_digest == opaque.digest(new_token)
    # The presented token is spent; its successor reads the new metadata.
    assert_refused(configure(client, "get", uri, token))
    read = configure(client, "get", uri, new_token).json()
    assert read == {k: v for k, v in body.items() if k != "registration_access_token"}
    # The secret of the registration still authenticates the client.
    checked = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": "unknown",
            "client_id": answer["client_id"],
            "client_secret": answer["client_secret"],
        },
    )
    assert checked.status_code == 400 and checked.json()["error"] == "invalid_grant"


def test_rfc7592_2_2_sending_back_what_was_read_changes_nothing_but_the_token(client):
    answer = register(client, **FULL)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    read = configure(client, "get", uri, token).json()
    response = configure(client, "put", uri, token, {**read, "client_secret": answer["client_secret"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: v for k, v in body.items() if k != "registration_access_token"} == read
    assert metadata_of(body) == metadata_of(read)


@pytest.mark.parametrize(
    "change, error, fragment",
    [
        ({"redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri", "https"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
        ({"scope": "api admin"}, "invalid_client_metadata", "Unknown scope"),
        ({"grant_types": ["password"]}, "invalid_client_metadata", "grant_types"),
        ({"client_name": 7}, "invalid_client_metadata", "client_name"),
        ({"logo_uri": "http://app.example.com/logo.png"}, "invalid_client_metadata", "logo_uri"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata", "token_endpoint"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "jwks"),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks": ClientKey("ES256").jwks()},
            "invalid_client_metadata",
            "kind of credential",
        ),
    ],
)
def test_rfc7592_2_2_update_goes_through_the_rules_of_registration(client, change, error, fragment):
    answer = register(client, **FULL)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    before = list(Client.objects.values())
    response = configure(client, "put", uri, token, {**FULL, "client_id": answer["client_id"], **change})
    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert fragment.lower() in body["error_description"].lower()
    # Nothing was written, and the token was not spent.
    assert list(Client.objects.values()) == before
    assert configure(client, "get", uri, token).status_code == 200


def test_rfc7592_2_2_a_confidential_client_may_switch_its_secret_method(client):
    answer = register(client, **FULL)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    update = {**FULL, "client_id": answer["client_id"], "token_endpoint_auth_method": "client_secret_basic"}
    response = configure(client, "put", uri, token, update)
    assert response.status_code == 200
    assert response.json()["token_endpoint_auth_method"] == "client_secret_basic"
    assert stored(answer).client_secret_digest == opaque.digest(answer["client_secret"])


@pytest.mark.parametrize(
    "registered_as, asked",
    [("client_secret_post", "none"), ("none", "client_secret_basic"), ("none", None)],
)
def test_rfc7592_2_2_public_and_confidential_stay_what_they_are(client, registered_as, asked):
    """
    A secret cannot be added to a public client nor taken from a confidential one by an update:
    register a new client instead. Omitting the method asks for the default, client_secret_basic.
    """
    answer = register(client, token_endpoint_auth_method=registered_as)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    update = {
        "client_id": answer["client_id"],
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": asked,
    }
    response = configure(client, "put", uri, token, update)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert "token_endpoint_auth_method" in response.json()["error_description"]
    assert stored(answer).token_endpoint_auth_method == registered_as


def test_rfc7592_2_2_a_changed_redirect_uri_ends_the_codes_not_yet_redeemed(client, user):
    answer = register(client, **FULL)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    app = stored(answer)
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, app, challenge=challenge, scope="api")
    other = "https://app.example.com/other"
    update = {**FULL, "client_id": app.client_id, "redirect_uris": [other]}
    assert configure(client, "put", uri, token, update).status_code == 200
    redeemed = token_request(client, code_request(app, code, verifier, answer["client_secret"]))
    assert redeemed.status_code == 400
    assert redeemed.json()["error"] == "invalid_grant"
    # The new redirect URI works, the old one is no longer the client's.
    app.refresh_from_db()
    assert query_of(authorize(client, user, app, challenge=challenge, redirect_uri=other)["Location"])["code"]
    refused = client.get(
        "/oauth/authorize",
        {
            "client_id": app.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
        },
    )
    assert refused.status_code == 400 and "Location" not in refused


def test_rfc7592_2_2_an_update_that_keeps_the_redirect_uris_keeps_the_codes(client, user):
    answer = register(client, **FULL)
    app = stored(answer)
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, app, challenge=challenge, scope="api")
    update = {**FULL, "client_id": app.client_id, "client_name": "Renamed"}
    response = configure(
        client, "put", answer["registration_client_uri"], answer["registration_access_token"], update
    )
    assert response.status_code == 200
    redeemed = token_request(client, code_request(app, code, verifier, answer["client_secret"]))
    assert redeemed.status_code == 200, redeemed.content


def test_rfc7591_3_2_1_an_update_renews_an_expired_secret(client, clock):
    with override_settings(TWENTY_OAUTH={"CLIENT_SECRET_LIFETIME": 3600}):
        answer = register(client, **FULL)
        uri, token = answer["registration_client_uri"], answer["registration_access_token"]
        fresh = configure(client, "put", uri, token, {**FULL, "client_id": answer["client_id"]})
        assert fresh.status_code == 200 and "client_secret" not in fresh.json()
        clock.advance(3601)
        check = {"grant_type": "refresh_token", "refresh_token": "unknown", "client_id": answer["client_id"]}
        expired = token_request(client, {**check, "client_secret": answer["client_secret"]})
        assert expired.status_code == 401 and expired.json()["error"] == "invalid_client"
        # The expired secret may still be repeated: it is the client's current one.
        update = {**FULL, "client_id": answer["client_id"], "client_secret": answer["client_secret"]}
        renewed = configure(client, "put", uri, fresh.json()["registration_access_token"], update)
        assert renewed.status_code == 200, renewed.content
        body = renewed.json()
        assert body["client_secret"] != answer["client_secret"]
        assert body["client_secret_expires_at"] > answer["client_secret_expires_at"] + 3600
        accepted = token_request(client, {**check, "client_secret": body["client_secret"]})
        assert accepted.status_code == 400 and accepted.json()["error"] == "invalid_grant"
        old = token_request(client, {**check, "client_secret": answer["client_secret"]})
        assert old.status_code == 401


def test_rfc7592_2_2_dropping_client_credentials_ends_the_clients_own_tokens(client):
    answer = register(
        client,
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_post",
    )
    Client.objects.filter(client_id=answer["client_id"]).update(client_credentials_allowed=True)
    credentials = {"client_id": answer["client_id"], "client_secret": answer["client_secret"]}
    issued = token_request(client, {"grant_type": "client_credentials", "scope": "api", **credentials})
    assert issued.status_code == 200, issued.content
    assert api_status(client, issued.json()["access_token"]) == 200
    update = {
        "client_id": answer["client_id"],
        "grant_types": ["authorization_code"],
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_post",
    }
    response = configure(
        client, "put", answer["registration_client_uri"], answer["registration_access_token"], update
    )
    assert response.status_code == 200
    assert api_status(client, issued.json()["access_token"]) == 401
    again = token_request(client, {"grant_type": "client_credentials", "scope": "api", **credentials})
    assert again.status_code == 400 and again.json()["error"] == "unauthorized_client"


def test_rfc7592_2_3_delete_ends_the_client_and_every_grant_at_once(client, user):
    answer = register(client, **FULL)
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    app = stored(answer)
    issued = code_tokens(client, user, app, answer["client_secret"], scope="api")
    # The bearer check has accepted this token once already (its signature is remembered).
    assert api_status(client, issued["access_token"]) == 200
    verifier, challenge = pkce_pair()
    pending = obtain_code(client, user, app, challenge=challenge, scope="api")

    response = configure(client, "delete", uri, token)
    assert response.status_code == 204
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"

    assert api_status(client, issued["access_token"]) == 401
    assert refresh(client, app, answer["client_secret"], issued["refresh_token"]).status_code == 401
    redeemed = token_request(client, code_request(app, pending, verifier, answer["client_secret"]))
    assert redeemed.status_code == 401 and redeemed.json()["error"] == "invalid_client"
    # Its configuration endpoint is gone with it (RFC 7592 §2.3).
    assert_refused(configure(client, "get", uri, token))
    assert_refused(configure(client, "delete", uri, token))
    # The consent page no longer knows it, and redirects nowhere.
    page = client.get(
        "/oauth/authorize",
        {
            "client_id": app.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
        },
    )
    assert page.status_code == 400 and "Location" not in page
    # Everything it held is ended, not merely unusable while the client is inactive.
    app.refresh_from_db()
    assert not app.is_active
    assert app.client_secret_digest == "" and app.registration_access_token_digest == ""
    assert not TokenFamily.objects.filter(client=app, revoked_at__isnull=True).exists()
    assert not AccessToken.objects.filter(client=app, revoked_at__isnull=True).exists()
    assert not RefreshToken.objects.filter(family__client=app, revoked_at__isnull=True).exists()
    assert not Consent.objects.filter(client=app, revoked_at__isnull=True).exists()
    code = AuthorizationCode.objects.get(code_digest=opaque.digest(pending))
    assert code.expires_at == code.created_at


def test_rfc7592_2_3_other_clients_keep_their_grants(client, user):
    kept, deleted = register(client, **FULL), register(client, **FULL)
    kept_tokens = code_tokens(client, user, stored(kept), kept["client_secret"], scope="api")
    code_tokens(client, user, stored(deleted), deleted["client_secret"], scope="api")
    response = configure(
        client, "delete", deleted["registration_client_uri"], deleted["registration_access_token"]
    )
    assert response.status_code == 204
    assert api_status(client, kept_tokens["access_token"]) == 200
    assert (
        configure(
            client, "get", kept["registration_client_uri"], kept["registration_access_token"]
        ).status_code
        == 200
    )


def test_rfc7592_2_cors_preflight(client):
    answer = register(client, **FULL)
    response = client.options(
        f"/oauth/register/{answer['client_id']}",
        HTTP_ORIGIN="https://inspector.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "GET, PUT, DELETE, OPTIONS"
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "WWW-Authenticate" in response["Access-Control-Expose-Headers"]


def test_rfc7592_2_other_methods_are_405(client):
    answer = register(client, **FULL)
    for method in ("post", "patch", "head"):
        response = configure(
            client, method, answer["registration_client_uri"], answer["registration_access_token"]
        )
        assert response.status_code == 405, method
        assert response["Allow"] == "GET, PUT, DELETE, OPTIONS"


def test_the_endpoint_stays_open_when_registration_is_closed(client):
    """Closing registration stops new clients; those already registered still manage themselves."""
    answer = register(client, **FULL)
    with override_settings(TWENTY_OAUTH={"REGISTRATION_ENABLED": False}):
        uri, token = answer["registration_client_uri"], answer["registration_access_token"]
        assert configure(client, "get", uri, token).status_code == 200
        assert configure(client, "delete", uri, token).status_code == 204


def test_rfc7592_3_the_uri_is_on_the_issuers_origin(client):
    with override_settings(TWENTY_OAUTH={"ISSUER": "https://auth.example.com"}):
        answer = register(client, **FULL)
        assert (
            answer["registration_client_uri"]
            == f"https://auth.example.com/oauth/register/{answer['client_id']}"
        )
        read = configure(
            client, "get", answer["registration_client_uri"], answer["registration_access_token"]
        )
        assert read.json()["registration_client_uri"] == answer["registration_client_uri"]
