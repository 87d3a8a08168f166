"""
The example site's MCP server at /mcp (example_project/mcp/server.py), spoken to over HTTP as a
browser or an MCP client would: CORS, the Origin check of the streamable HTTP transport (DNS
rebinding), its serverInfo and the capabilities it advertises.
"""

import asyncio
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from starlette.testclient import TestClient

import twenty_oauth
from example_project import asgi
from example_project.companies.models import Company
from example_project.mcp import server as example_mcp
from tests.conftest import ISSUER, code_tokens

MCP = f"{ISSUER}/mcp"
BROWSER_CLIENT = "http://localhost:6274"  # the MCP Inspector's default origin
ACCEPT = "application/json, text/event-stream"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "tests", "version": "1"},
    },
}


@pytest.fixture(autouse=True)
def _close_the_sync_threads_connections():
    """
    The MCP app reaches the database from asgiref's shared sync thread, as under uvicorn; with
    ``CONN_MAX_AGE`` its connection there outlives the test, and would outlive the test
    database. Close it in that thread once the test is over.
    """
    yield
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


@pytest.fixture
def site(settings):
    settings.TWENTY_OAUTH = {"ISSUER": ISSUER}


@pytest.fixture
def mcp(site):
    """The example's MCP app, built for this test's settings, its lifespan running."""
    _, app = example_mcp.build()
    with TestClient(app, base_url=ISSUER) as http:
        yield http


@pytest.fixture
def token(site, client, user, public) -> str:
    return code_tokens(client, user, public, extra={"resource": MCP})["access_token"]


def preflight(http, origin: str, headers: str = "authorization, content-type, mcp-protocol-version"):
    return http.options(
        "/mcp",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def rpc(http, body: dict, token: str | None = None, **headers: str):
    headers = {"Accept": ACCEPT, **headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http.post("/mcp", json=body, headers=headers)


def header_list(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


def test_preflight_from_a_browser_client_is_answered(mcp):
    response = preflight(mcp, BROWSER_CLIENT, "authorization, content-type, mcp-session-id, last-event-id")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == BROWSER_CLIENT
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert {"get", "post", "delete"} <= header_list(response.headers["Access-Control-Allow-Methods"])
    assert {
        "authorization",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
        "mcp-method",
        "mcp-name",
        "last-event-id",
    } <= header_list(response.headers["Access-Control-Allow-Headers"])


def test_preflight_from_the_site_itself_is_answered(mcp):
    response = preflight(mcp, ISSUER)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ISSUER


def test_preflight_from_another_origin_is_refused(mcp):
    response = preflight(mcp, "https://evil.example")
    assert response.status_code == 403
    assert response.text == "Invalid Origin header"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_401_lets_a_browser_read_its_challenge(mcp):
    response = rpc(mcp, INITIALIZE, Origin=BROWSER_CLIENT)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{ISSUER}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert response.headers["Access-Control-Allow-Origin"] == BROWSER_CLIENT
    assert {"www-authenticate", "mcp-session-id"} <= header_list(
        response.headers["Access-Control-Expose-Headers"]
    )


@pytest.mark.django_db(transaction=True)
def test_an_allowed_origin_is_served(mcp, token):
    response = rpc(mcp, INITIALIZE, token, Origin=BROWSER_CLIENT)
    assert response.status_code == 200
    assert response.json()["result"]["serverInfo"]["name"] == "twenty-oauth example"
    assert response.headers["Access-Control-Allow-Origin"] == BROWSER_CLIENT
    assert "www-authenticate" in header_list(response.headers["Access-Control-Expose-Headers"])


@pytest.mark.django_db(transaction=True)
def test_a_request_without_origin_is_served(mcp, token):
    # Clients that are not browsers send no Origin: nothing to rebind.
    response = rpc(mcp, INITIALIZE, token)
    assert response.status_code == 200
    assert response.json()["result"]["protocolVersion"] == "2025-11-25"
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://127.0.0.1.evil.example:8000", "http://testserver:8080", "null"]
)
def test_another_origin_is_refused_even_with_a_valid_token(mcp, token, origin):
    response = rpc(mcp, INITIALIZE, token, Origin=origin)
    assert response.status_code == 403
    assert response.text == "Invalid Origin header"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "WWW-Authenticate" not in response.headers


def test_another_origin_is_refused_before_the_token_is_read(mcp):
    response = rpc(mcp, INITIALIZE, "not-a-token", Origin="https://evil.example")
    assert response.status_code == 403
    assert response.text == "Invalid Origin header"
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.django_db(transaction=True)
def test_a_rebound_host_is_refused(mcp, token):
    response = rpc(mcp, INITIALIZE, token, Host="evil.example")
    assert response.status_code == 421
    assert response.text == "Invalid Host header"


@pytest.mark.django_db(transaction=True)
def test_the_allowed_origins_are_a_setting(site, settings, token):
    settings.MCP_ALLOWED_ORIGINS = ["https://app.example", "http://localhost:*"]
    _, app = example_mcp.build()
    with TestClient(app, base_url=ISSUER) as http:
        assert rpc(http, INITIALIZE, token, Origin="https://app.example").status_code == 200
        assert rpc(http, INITIALIZE, token, Origin="http://localhost:3000").status_code == 200
        assert preflight(http, "https://app.example").headers["Access-Control-Allow-Origin"] == (
            "https://app.example"
        )
        refused = rpc(http, INITIALIZE, token, Origin=ISSUER)
        assert refused.status_code == 403
        assert refused.text == "Invalid Origin header"
        assert preflight(http, "http://127.0.0.1:6274").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_initialize_names_the_package_version_and_only_tools(mcp, token):
    result = rpc(mcp, INITIALIZE, token).json()["result"]
    assert result["serverInfo"] == {"name": "twenty-oauth example", "version": version("twenty-oauth")}
    assert result["serverInfo"]["version"] == twenty_oauth.__version__
    assert result["capabilities"] == {"tools": {"listChanged": False}}


@pytest.mark.django_db(transaction=True)
def test_discover_advertises_only_tools(mcp, token):
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "server/discover",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        },
    }
    response = rpc(
        mcp, body, token, **{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}
    )
    assert response.status_code == 200
    assert response.json()["result"]["capabilities"] == {"tools": {"listChanged": False}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["prompts/list", "resources/list", "resources/templates/list"])
def test_what_is_not_advertised_is_not_served(mcp, token, method):
    rpc(mcp, INITIALIZE, token)
    response = rpc(
        mcp, {"jsonrpc": "2.0", "id": 2, "method": method}, token, **{"Mcp-Protocol-Version": "2025-11-25"}
    )
    assert response.status_code == 200
    assert response.json()["error"] == {"code": -32601, "message": "Method not found", "data": method}


@pytest.mark.django_db(transaction=True)
def test_list_companies(mcp, token):
    Company.objects.all().delete()
    Company.objects.create(name="Qonto", domain_name="qonto.com", employees=1600, city="Paris")
    Company.objects.create(name="Alan", domain_name="alan.com", employees=600, city="Paris")
    headers = {"Mcp-Protocol-Version": "2025-11-25"}
    tools = rpc(mcp, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, token, **headers).json()
    assert [tool["name"] for tool in tools["result"]["tools"]] == ["list_companies"]
    assert tools["result"]["tools"][0]["annotations"] == {"readOnlyHint": True}
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_companies"}}
    result = rpc(mcp, call, token, **headers).json()["result"]
    assert result["isError"] is False
    companies = result["structuredContent"]["result"]
    assert [(c["name"], c["domain_name"], c["employees"], c["city"]) for c in companies] == [
        ("Alan", "alan.com", 600, "Paris"),
        ("Qonto", "qonto.com", 1600, "Paris"),
    ]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]


@pytest.mark.django_db(transaction=True)
def test_an_unknown_tool_is_a_protocol_error(mcp, token):
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "drop_companies"}}
    response = rpc(mcp, call, token, **{"Mcp-Protocol-Version": "2025-11-25"})
    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: drop_companies"}


def test_the_site_routes_mcp_to_the_mcp_server():
    # The ASGI application `make demo` serves: Django, and /mcp for the MCP app.
    http = TestClient(asgi.application, base_url="http://127.0.0.1:8000")
    allowed = preflight(http, BROWSER_CLIENT)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == BROWSER_CLIENT
    assert preflight(http, "https://evil.example").status_code == 403
    challenge = rpc(http, INITIALIZE, Origin=BROWSER_CLIENT)
    assert challenge.status_code == 401
    assert "www-authenticate" in header_list(challenge.headers["Access-Control-Expose-Headers"])


def test_the_allowed_origins_come_from_the_environment():
    code = "import example_project.settings as s; print(s.MCP_ALLOWED_ORIGINS)"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MCP_"))}

    def read(**env) -> str:
        done = subprocess.run(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parent.parent,
            env=environ | env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert read() == "None"
    assert read(MCP_ALLOWED_ORIGINS="https://app.example, http://localhost:*") == (
        "['https://app.example', 'http://localhost:*']"
    )
