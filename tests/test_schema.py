"""A host that documents its API with drf-spectacular sees the OAuth endpoints in its schema."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator  # in the test extra: never skipped

FORM = "application/x-www-form-urlencoded"


def generate(urlconf: str = settings.ROOT_URLCONF) -> dict:
    with override_settings(
        ROOT_URLCONF=urlconf,
        INSTALLED_APPS=[*settings.INSTALLED_APPS, "drf_spectacular"],
        REST_FRAMEWORK={"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"},
    ):
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def schema() -> dict:
    return generate()


def body(schema: dict, operation: dict, media_type: str) -> dict:
    reference = operation["requestBody"]["content"][media_type]["schema"]["$ref"]
    return schema["components"]["schemas"][reference.rsplit("/", 1)[1]]


def answer(schema: dict, operation: dict, status: str, media_type: str = "application/json") -> dict:
    reference = operation["responses"][status]["content"][media_type]["schema"]["$ref"]
    return schema["components"]["schemas"][reference.rsplit("/", 1)[1]]


def test_every_oauth_endpoint_is_an_operation(schema):
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert {
        ("/oauth/token", "post"),
        ("/oauth/device_authorization", "post"),
        ("/oauth/revoke", "post"),
        ("/oauth/introspect", "post"),
        ("/oauth/register", "post"),
        ("/oauth/register/{client_id}", "get"),
        ("/oauth/register/{client_id}", "put"),
        ("/oauth/register/{client_id}", "delete"),
        ("/oauth/userinfo", "get"),
        ("/oauth/userinfo", "post"),
        ("/oauth/jwks", "get"),
        ("/.well-known/oauth-authorization-server", "get"),
        ("/.well-known/oauth-protected-resource", "get"),
    } <= operations
    # The consent page and the device page are HTML for people, not API operations.
    assert "/oauth/authorize" not in schema["paths"]
    assert "/oauth/device" not in schema["paths"]


def test_the_token_endpoint_takes_a_form_and_answers_tokens_or_errors(schema):
    operation = schema["paths"]["/oauth/token"]["post"]
    assert list(operation["requestBody"]["content"]) == [FORM]
    request = body(schema, operation, FORM)
    assert {
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "device_code",
        "scope",
        "resource",
    } <= set(request["properties"])
    assert request["required"] == ["grant_type"]
    assert set(answer(schema, operation, "200")["properties"]) >= {"access_token", "token_type", "expires_in"}
    for status in ("400", "401", "429"):
        assert set(answer(schema, operation, status)["properties"]) == {"error", "error_description"}


def test_registration_is_described_by_the_client_metadata_serializers(schema):
    operation = schema["paths"]["/oauth/register"]["post"]
    metadata = body(schema, operation, "application/json")
    assert {
        "redirect_uris",
        "grant_types",
        "token_endpoint_auth_method",
        "client_name",
        "scope",
        "contacts",
    } <= set(metadata["properties"])
    assert metadata["properties"]["redirect_uris"]["type"] == "array"
    information = answer(schema, operation, "201")
    assert {"client_id", "client_secret", "client_secret_expires_at", "client_id_issued_at"} <= set(
        information["properties"]
    )
    assert set(answer(schema, operation, "400")["properties"]) == {"error", "error_description"}


def test_client_configuration_is_described_by_the_same_serializers(schema):
    """RFC 7592 §2: read, replace and delete, each an operation of its own."""
    item = schema["paths"]["/oauth/register/{client_id}"]
    assert {method: item[method]["operationId"] for method in ("get", "put", "delete")} == {
        "get": "oauth_client_read",
        "put": "oauth_client_update",
        "delete": "oauth_client_delete",
    }
    for method in ("get", "put", "delete"):
        (parameter,) = item[method]["parameters"]
        assert parameter["name"] == "client_id" and parameter["in"] == "path"
        assert "Bearer" in item[method]["description"]
        assert set(answer(schema, item[method], "401")["properties"]) == {"error", "error_description"}
    update = body(schema, item["put"], "application/json")
    assert {"client_id", "redirect_uris", "token_endpoint_auth_method", "client_name"} <= set(
        update["properties"]
    )
    assert "client_id" in update["required"]
    for method in ("get", "put"):
        information = answer(schema, item[method], "200")
        assert {"client_id", "registration_client_uri", "registration_access_token"} <= set(
            information["properties"]
        )
    assert "requestBody" not in item["get"] and "requestBody" not in item["delete"]
    assert "content" not in item["delete"]["responses"]["204"]
    registered = answer(schema, schema["paths"]["/oauth/register"]["post"], "201")
    assert {"registration_client_uri", "registration_access_token"} <= set(registered["properties"])


def test_the_device_authorization_endpoint_takes_a_form_and_answers_codes(schema):
    """RFC 8628 §3.1-§3.2."""
    operation = schema["paths"]["/oauth/device_authorization"]["post"]
    assert list(operation["requestBody"]["content"]) == [FORM]
    assert {"scope", "resource", "client_id"} <= set(body(schema, operation, FORM)["properties"])
    assert set(answer(schema, operation, "200")["properties"]) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    for status in ("400", "401"):
        assert set(answer(schema, operation, status)["properties"]) == {"error", "error_description"}
    token = body(schema, schema["paths"]["/oauth/token"]["post"], FORM)
    grant_types = schema["components"]["schemas"][token["properties"]["grant_type"]["$ref"].rsplit("/", 1)[1]]
    assert "urn:ietf:params:oauth:grant-type:device_code" in grant_types["enum"]


def test_revocation_introspection_and_discovery(schema):
    for path in ("/oauth/revoke", "/oauth/introspect"):
        operation = schema["paths"][path]["post"]
        assert set(body(schema, operation, FORM)["properties"]) >= {"token", "token_type_hint"}
    introspect = schema["paths"]["/oauth/introspect"]["post"]
    assert answer(schema, introspect, "200")["properties"]["active"]["type"] == "boolean"
    jwks = schema["paths"]["/oauth/jwks"]["get"]
    assert "keys" in answer(schema, jwks, "200", "application/jwk-set+json")["properties"]
    server = schema["paths"]["/.well-known/oauth-authorization-server"]["get"]
    assert {"issuer", "token_endpoint", "registration_endpoint", "code_challenge_methods_supported"} <= set(
        answer(schema, server, "200")["properties"]
    )
    resource = schema["paths"]["/.well-known/oauth-protected-resource"]["get"]
    assert "authorization_servers" in answer(schema, resource, "200")["properties"]
    userinfo = schema["paths"]["/oauth/userinfo"]["get"]
    assert "sub" in answer(schema, userinfo, "200")["properties"]


def test_a_host_view_protected_by_bearer_tokens_names_the_scheme(schema):
    assert schema["components"]["securitySchemes"]["oauth2BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert {"oauth2BearerToken": []} in schema["paths"]["/rest/companies"]["get"]["security"]


def test_under_a_prefix_the_discovery_documents_are_described_at_the_root_only():
    """RFC 8414 §3.1, RFC 9728 §3.1: the copies under ``auth/`` are not where clients look."""
    paths = generate("tests.mounts.prefix")["paths"]
    assert paths["/.well-known/oauth-authorization-server"]["get"]["operationId"] == (
        "oauth_authorization_server_metadata"
    )
    assert paths["/.well-known/oauth-protected-resource"]["get"]["operationId"] == (
        "oauth_protected_resource_metadata"
    )
    assert paths["/auth/oauth/token"]["post"]["operationId"] == "oauth_token"
    assert paths["/auth/oauth/register/{client_id}"]["put"]["operationId"] == "oauth_client_update"
    assert [path for path in paths if ".well-known" in path] == [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/.well-known/openid-configuration",
    ]
    assert paths["/.well-known/openid-configuration"]["get"]["operationId"] == "openid_configuration"
