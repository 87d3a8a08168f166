"""
An MCP server built on the official SDK, served beside Django by ``example_project/asgi.py`` at
``/mcp`` (streamable HTTP), and protected by twenty-oauth: a request without a token valid for
``<origin>/mcp`` is answered 401 with ``WWW-Authenticate: Bearer resource_metadata="…"``, whose
document names this site as the authorization server (MCP authorization, RFC 9728).

The endpoint's URL is ``TWENTY_OAUTH["ISSUER"]`` + ``/mcp`` (the example reads the issuer from
``TWENTY_OAUTH_ISSUER``), or ``http://127.0.0.1:8000/mcp`` when no issuer is set.

It is the SDK's low-level ``Server`` with a handler for each method it serves, so that its
capabilities (``initialize``, ``server/discover``) name tools and nothing else: the SDK's
``MCPServer`` also answers the prompt and resource methods, and so advertises both.

Browser pages may call it (CORS) from the origins of ``settings.MCP_ALLOWED_ORIGINS``; a request
with any other ``Origin`` is refused with 403 before anything else, as the streamable HTTP
transport requires of servers against DNS rebinding. Requests without ``Origin`` (every client
that is not a browser) are served.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import mcp.types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

import twenty_oauth
from example_project.companies.models import Company as CompanyModel
from twenty_oauth.conf import oauth_settings
from twenty_oauth.mcp import DPoP, TokenVerifier, auth_settings

DEFAULT_ORIGIN = "http://127.0.0.1:8000"
PATH = "/mcp"

# Pages served from the machine itself, on any port: an MCP client in development (the MCP
# Inspector, say). A DNS-rebinding page has the attacker's host name as its origin, never these.
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]

# What a browser may send and read across origins (streamable HTTP transport): the access token
# and its DPoP proof, the session and protocol headers, and the 2026-07-28 routing headers; a
# browser client must read the 401's challenge to find the authorization server, and a session
# ID if one is given.
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "DPoP",
    "Mcp-Session-Id",
    "Mcp-Protocol-Version",
    "Mcp-Method",
    "Mcp-Name",
    "Last-Event-ID",
]
CORS_EXPOSE_HEADERS = ["WWW-Authenticate", "Mcp-Session-Id"]
CORS_ALLOW_METHODS = ["GET", "POST", "DELETE"]


def resource_url() -> str:
    """The MCP server's canonical URL: its resource identifier (RFC 8707, MCP authorization)."""
    issuer = oauth_settings.ISSUER or DEFAULT_ORIGIN
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{PATH}"


def allowed_origins() -> list[str]:
    """
    ``settings.MCP_ALLOWED_ORIGINS``, or by default the site's own origin and the loopback
    origins. An entry ending in ``:*`` allows any port (the SDK's pattern).
    """
    configured = getattr(settings, "MCP_ALLOWED_ORIGINS", None)
    if configured is not None:
        return list(configured)
    origin = urlsplit(resource_url())
    return [f"{origin.scheme}://{origin.netloc}", *LOOPBACK_ORIGINS]


def origin_regex(origins: list[str]) -> str:
    """The same list as one regular expression, for Starlette's ``CORSMiddleware``."""
    patterns = [
        re.escape(origin[:-2]) + r":\d+" if origin.endswith(":*") else re.escape(origin) for origin in origins
    ]
    return "|".join(patterns) or r"(?!)"


def transport_security() -> TransportSecuritySettings:
    """
    DNS-rebinding protection (MCP transports: servers must validate ``Origin``): the site's own
    hosts, and the allowed origins.
    """
    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)],
        allowed_origins=allowed_origins(),
    )


class ValidateOrigin:
    """
    The SDK's ``Host`` and ``Origin`` check (421, 403), run before CORS and before the token
    is read: a page of another origin learns nothing, not even whether its token would do.
    """

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        self.app = app
        self.check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = await self.check.validate_request(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Company(BaseModel):
    id: int
    name: str
    domain_name: str
    employees: int
    city: str


class Companies(BaseModel):
    result: list[Company]


LIST_COMPANIES = types.Tool(
    name="list_companies",
    title="List companies",
    description="The companies of the example site: name, domain, employees and city.",
    input_schema={"type": "object", "properties": {}, "additionalProperties": False},
    output_schema=Companies.model_json_schema(),
    annotations=types.ToolAnnotations(read_only_hint=True),
)


def _companies() -> Companies:
    return Companies(
        result=[
            Company(id=c.pk, name=c.name, domain_name=c.domain_name, employees=c.employees, city=c.city)
            for c in CompanyModel.objects.all()
        ]
    )


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[LIST_COMPANIES])


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    if params.name != LIST_COMPANIES.name:
        # An unknown tool is a protocol error (MCP tools, "Error Handling").
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
    companies = (await sync_to_async(_companies, thread_sensitive=True)()).model_dump(mode="json")
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(companies))],
        structured_content=companies,
    )


def build() -> tuple[Server, ASGIApp]:
    """The MCP server and its ASGI app. Stateless, JSON answers: any worker serves any request."""
    resource = resource_url()
    security = transport_security()
    server = Server(
        "twenty-oauth example",
        version=twenty_oauth.__version__,
        instructions="Companies of the twenty-oauth example site.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    app = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=security,
        auth=auth_settings(resource, required_scopes=["api"]),
        token_verifier=TokenVerifier(resource),
    )
    cors = CORSMiddleware(
        DPoP(app, resource),
        allow_origin_regex=origin_regex(security.allowed_origins),
        allow_methods=CORS_ALLOW_METHODS,
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
    )
    return server, ValidateOrigin(cors, security)


server, app = build()
