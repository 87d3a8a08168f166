"""Audience restriction: RFC 8707 resource indicators and the DRF class's audience."""

import jwt
import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.conftest import ISSUER, code_tokens, token_request
from twenty_oauth.drf import BearerTokenAuthentication, HasScope

pytestmark = pytest.mark.django_db

MCP = f"{ISSUER}/mcp"


class McpAuthentication(BearerTokenAuthentication):
    audience = MCP


class McpView(APIView):
    authentication_classes = [McpAuthentication]
    permission_classes = [HasScope("api")]

    def get(self, request):
        return Response({"client_id": request.auth.client.client_id, "aud": request.auth.audience})


urlpatterns = [path("mcp", McpView.as_view()), *__import__("example_project.urls").urls.urlpatterns]


def aud(token):
    return jwt.decode(token, options={"verify_signature": False})["aud"]


def test_token_for_a_resource_has_it_as_audience(client, user, public):
    tokens = code_tokens(client, user, public, extra={"resource": MCP})
    assert aud(tokens["access_token"]) == MCP


def test_token_request_may_repeat_the_resource(client, user, public):
    from tests.conftest import code_request, obtain_code, pkce_pair

    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge, extra={"resource": MCP})
    response = token_request(client, code_request(public, code, verifier, resource=MCP))
    assert response.status_code == 200
    assert aud(response.json()["access_token"]) == MCP


def test_token_request_cannot_name_another_resource(client, user, public):
    from tests.conftest import code_request, obtain_code, pkce_pair

    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge, extra={"resource": MCP})
    response = token_request(client, code_request(public, code, verifier, resource=f"{ISSUER}/rest"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


@override_settings(ROOT_URLCONF=__name__)
def test_a_token_for_one_service_does_not_open_another(client, user, public):
    default = code_tokens(client, user, public)["access_token"]
    mcp = code_tokens(client, user, public, extra={"resource": MCP})["access_token"]
    assert client.get("/mcp", HTTP_AUTHORIZATION=f"Bearer {mcp}").status_code == 200
    refused = client.get("/mcp", HTTP_AUTHORIZATION=f"Bearer {default}")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == (
        f'Bearer resource_metadata="{ISSUER}/.well-known/oauth-protected-resource/mcp", '
        'error="invalid_token", DPoP algs="ES256 RS256 PS256 EdDSA"'
    )
    assert client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {mcp}").status_code == 401
    assert client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {default}").status_code == 200


@override_settings(ROOT_URLCONF=__name__)
def test_mcp_view_401_names_its_metadata(client):
    response = client.get("/mcp")
    assert response.status_code == 401
    assert (
        response["WWW-Authenticate"]
        == f'Bearer resource_metadata="{ISSUER}/.well-known/oauth-protected-resource/mcp", '
        'DPoP algs="ES256 RS256 PS256 EdDSA"'
    )


def test_refresh_can_narrow_the_resource_but_not_widen_it(client, user, public):
    first = code_tokens(client, user, public, extra={"resource": MCP})
    data = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": public.client_id,
    }
    wider = token_request(client, {**data, "resource": f"{ISSUER}/rest"})
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_target"
    same = token_request(client, {**data, "resource": MCP})
    assert same.status_code == 200
    assert aud(same.json()["access_token"]) == MCP


def test_two_resources_then_narrowed(client, user, public):
    from urllib.parse import urlencode

    from tests.conftest import REDIRECT, pkce_pair, query_of

    verifier, challenge = pkce_pair()
    client.force_login(user)
    query = urlencode(
        [
            ("client_id", public.client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("resource", MCP),
            ("resource", f"{ISSUER}/rest"),
        ]
    )
    page = client.get(f"/oauth/authorize?{query}")
    location = client.post("/oauth/authorize", {"request": page.context["signed_request"], "allow": "1"})[
        "Location"
    ]
    code = query_of(location)["code"]
    body = token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": public.client_id,
            "code_verifier": verifier,
        },
    ).json()
    assert aud(body["access_token"]) == [MCP, f"{ISSUER}/rest"]
    narrowed = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": public.client_id,
            "resource": MCP,
        },
    ).json()
    assert aud(narrowed["access_token"]) == MCP


@pytest.mark.parametrize(
    "resource",
    ["https://evil.example/api", "not-a-uri", f"{ISSUER}/mcp#frag", "http://[::1", f"{ISSUER}:99999/mcp"],
)
def test_disallowed_resource_is_invalid_target(client, service, resource):
    oauth_client, secret = service
    response = token_request(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": oauth_client.client_id,
            "client_secret": secret,
            "resource": resource,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_allowed_resources_setting(client, service):
    oauth_client, secret = service
    data = {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret}
    with override_settings(TWENTY_OAUTH={"ALLOWED_RESOURCES": ["https://api.other.example"]}):
        ok = token_request(client, {**data, "resource": "https://api.other.example"})
        assert ok.status_code == 200
        assert aud(ok.json()["access_token"]) == "https://api.other.example"
        assert token_request(client, {**data, "resource": MCP}).json()["error"] == "invalid_target"
