"""POST /oauth/register: dynamic client registration (RFC 7591)."""

import json
import time

import pytest

from tests.conftest import token_request
from twenty_oauth.models import Client
from twenty_oauth.protocol import opaque

pytestmark = pytest.mark.django_db


def register(http, body, **headers):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return http.post("/oauth/register", payload, content_type="application/json", **headers)


CONTRACT_EXAMPLE = {
    "client_name": "My Integration",
    "redirect_uris": ["https://myapp.com/callback"],
    "grant_types": ["authorization_code"],
    "token_endpoint_auth_method": "client_secret_post",
}


def test_contract_example_registers_a_confidential_client(client):
    response = register(client, CONTRACT_EXAMPLE)
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["client_name"] == "My Integration"
    assert body["redirect_uris"] == ["https://myapp.com/callback"]
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    # The contract's client refreshes, so its answer says it may.
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["client_secret_expires_at"] == 0
    assert isinstance(body["client_id_issued_at"], int)
    assert len(body["client_secret"]) >= 43
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.source == Client.Source.DYNAMIC
    # Only the digest is kept.
    assert stored.client_secret_digest == opaque.digest(body["client_secret"])
    assert body["client_secret"] not in json.dumps(list(Client.objects.values()), default=str)


def test_rfc7591_3_2_1_secret_lifetime_is_announced_and_enforced(client, settings):
    settings.TWENTY_OAUTH = {"CLIENT_SECRET_LIFETIME": 3600}
    before = int(time.time())
    body = register(client, CONTRACT_EXAMPLE).json()
    assert before + 3600 <= body["client_secret_expires_at"] <= int(time.time()) + 3600
    stored = Client.objects.get(client_id=body["client_id"])
    assert int(stored.client_secret_expires_at.timestamp()) == body["client_secret_expires_at"]
    Client.objects.filter(pk=stored.pk).update(client_secret_expires_at=stored.created_at)
    refused = token_request(
        client,
        {"grant_type": "refresh_token", "refresh_token": "x", "client_id": body["client_id"]}
        | {"client_secret": body["client_secret"]},
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_public_client_gets_no_secret(client):
    response = register(
        client,
        {
            "client_name": "CLI",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body
    assert body["token_endpoint_auth_method"] == "none"


def test_default_auth_method_is_client_secret_basic(client):
    body = register(client, {"redirect_uris": ["https://a.example/cb"]}).json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_secret" in body


def test_all_rfc7591_fields_are_stored_and_returned(client):
    metadata = {
        **CONTRACT_EXAMPLE,
        "scope": "api profile",
        "client_uri": "https://myapp.com",
        "logo_uri": "https://myapp.com/logo.png",
        "tos_uri": "https://myapp.com/tos",
        "policy_uri": "https://myapp.com/privacy",
        "contacts": ["dev@myapp.com"],
        "software_id": "4NRB1-0XZABZI9E6-5SM3R",
        "software_version": "2.1",
    }
    body = register(client, metadata).json()
    for name, value in metadata.items():
        if name != "grant_types":
            assert body[name] == value, name


def test_values_the_client_may_not_choose_are_ignored(client):
    body = register(client, {**CONTRACT_EXAMPLE, "client_id": "mine", "client_secret": "chosen"}).json()
    assert body["client_id"] != "mine"
    assert body["client_secret"] != "chosen"


def test_unknown_metadata_is_ignored(client):
    response = register(client, {**CONTRACT_EXAMPLE, "x_custom": 1})
    assert response.status_code == 201
    assert "x_custom" not in response.json()


def test_client_credentials_client(client):
    body = register(
        client,
        {
            "client_name": "Worker",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    ).json()
    assert body["grant_types"] == ["client_credentials"]
    assert body["response_types"] == []
    assert body["redirect_uris"] == []


@pytest.mark.parametrize(
    "redirect_uris, fragment",
    [
        (["http://myapp.com/callback"], "https"),
        (["https://myapp.com/cb#frag"], "fragment"),
        (["javascript:alert(1)"], "not allowed"),
        (["data:text/html,hi"], "not allowed"),
        (["https://*.myapp.com/cb"], "Wildcard"),
        (["/relative"], "absolute"),
        ("https://myapp.com/cb", "array"),
        ([42], "string"),
        (["https://[::1/cb"], "absolute"),
    ],
)
def test_bad_redirect_uris(client, redirect_uris, fragment):
    response = register(client, {**CONTRACT_EXAMPLE, "redirect_uris": redirect_uris})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_redirect_uri"
    assert fragment.lower() in body["error_description"].lower()
    assert not Client.objects.exists()


def test_code_client_needs_a_redirect_uri(client):
    response = register(client, {"grant_types": ["authorization_code"]})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "token_endpoint_auth_method"),
        ({"grant_types": ["password"]}, "grant_types"),
        ({"grant_types": ["implicit"]}, "grant_types"),
        ({"response_types": ["token"]}, "response_type"),
        ({"grant_types": ["client_credentials"], "response_types": ["code"]}, "go together"),
        ({"scope": "api admin"}, "Unknown scope"),
        ({"client_name": 7}, "client_name"),
        ({"client_name": "x" * 300}, "client_name"),
        ({"logo_uri": "http://myapp.com/logo.png"}, "logo_uri"),
        ({"client_uri": "javascript:alert(1)"}, "client_uri"),
        ({"client_uri": "https://[::1"}, "client_uri"),
        ({"logo_uri": "https://[zz]/logo.png"}, "logo_uri"),
        ({"tos_uri": "https://myapp.com:99999/tos"}, "tos_uri"),
        ({"contacts": ["not an email"]}, "contacts"),
        ({"grant_types": []}, "grant_types"),
    ],
)
def test_bad_metadata(client, change, fragment):
    response = register(client, {**CONTRACT_EXAMPLE, **change})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    assert fragment.lower() in body["error_description"].lower()
    assert not Client.objects.exists()


def test_public_client_cannot_register_client_credentials(client):
    response = register(client, {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", '"text"', b"\xff\xfe"])
def test_body_must_be_a_json_object(client, payload):
    response = register(client, payload)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_wrong_content_type(client):
    response = client.post("/oauth/register", {"client_name": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_get_is_not_allowed(client):
    response = client.get("/oauth/register")
    assert response.status_code == 405
    assert "POST" in response["Allow"]


def test_cors_preflight(client):
    response = client.options("/oauth/register", HTTP_ORIGIN="https://inspector.example")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
