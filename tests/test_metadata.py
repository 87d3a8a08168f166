"""Discovery: RFC 8414 server metadata and RFC 9728 protected-resource metadata."""

import pytest
from django.test import override_settings

from tests.conftest import ISSUER

pytestmark = pytest.mark.django_db


def test_server_metadata(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["issuer"] == ISSUER
    assert body["authorization_endpoint"] == f"{ISSUER}/oauth/authorize"
    assert body["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert body["registration_endpoint"] == f"{ISSUER}/oauth/register"
    assert body["jwks_uri"] == f"{ISSUER}/oauth/jwks"
    assert body["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert body["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert body["userinfo_endpoint"] == f"{ISSUER}/oauth/userinfo"
    assert body["device_authorization_endpoint"] == f"{ISSUER}/oauth/device_authorization"
    assert body["scopes_supported"] == ["api", "profile", "openid", "email", "offline_access"]
    assert body["response_types_supported"] == ["code"]
    assert set(body["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert set(body["token_endpoint_auth_methods_supported"]) == {
        "client_secret_post",
        "client_secret_basic",
        "private_key_jwt",
        "none",
    }
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert set(body["revocation_endpoint_auth_methods_supported"]) == {
        "client_secret_post",
        "client_secret_basic",
        "private_key_jwt",
        "none",
    }
    assert set(body["introspection_endpoint_auth_methods_supported"]) == {
        "client_secret_post",
        "client_secret_basic",
        "private_key_jwt",
    }
    # RFC 8414 §2: present whenever private_key_jwt is; asymmetric algorithms only, never none.
    for endpoint in ("token", "revocation", "introspection"):
        assert body[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == [
            "ES256",
            "RS256",
            "PS256",
            "EdDSA",
            "Ed25519",
            "Ed448",
        ]


def test_no_redirect_without_or_with_trailing_slash(client):
    assert client.get("/.well-known/oauth-authorization-server").status_code == 200
    assert client.get("/oauth/token").status_code == 405  # answered, not redirected
    assert client.get("/.well-known/oauth-authorization-server/").status_code in (404, 200)


def test_configured_issuer_is_used_verbatim(client):
    with override_settings(TWENTY_OAUTH={"ISSUER": "https://auth.example.com"}):
        body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == "https://auth.example.com"
    assert body["token_endpoint"] == "https://auth.example.com/oauth/token"


def test_rfc8414_3_1_an_issuer_with_a_path_is_found_where_clients_look(client):
    with override_settings(TWENTY_OAUTH={"ISSUER": "https://auth.example.com/tenant"}):
        response = client.get("/.well-known/oauth-authorization-server/tenant")
        assert response.status_code == 200
        assert response.json()["issuer"] == "https://auth.example.com/tenant"
        assert response.json()["token_endpoint"] == "https://auth.example.com/oauth/token"
        assert client.get("/.well-known/oauth-authorization-server").status_code == 200
        assert client.get("/.well-known/oauth-authorization-server/other").status_code == 404
    assert client.get("/.well-known/oauth-authorization-server/tenant").status_code == 404


def test_scope_registry_from_settings(client):
    with override_settings(TWENTY_OAUTH={"SCOPES": {"api": "API", "read": "Read only"}}):
        body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["scopes_supported"] == ["api", "read", "openid", "email", "offline_access"]


def test_protected_resource_metadata(client):
    response = client.get("/.well-known/oauth-protected-resource")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["resource"] == ISSUER
    assert body["authorization_servers"] == [ISSUER]
    assert body["scopes_supported"] == ["api", "profile"]
    assert body["bearer_methods_supported"] == ["header"]


def test_path_suffixed_protected_resource_metadata(client):
    body = client.get("/.well-known/oauth-protected-resource/mcp").json()
    assert body["resource"] == f"{ISSUER}/mcp"
    assert body["authorization_servers"] == [ISSUER]


def test_metadata_is_only_get(client):
    assert client.post("/.well-known/oauth-authorization-server").status_code == 405
