"""
An MCP server built on the official SDK, served beside Django by ``example_project/asgi.py`` at
``/mcp`` (streamable HTTP), and protected by twenty-oauth: a request without a token valid for
``<origin>/mcp`` is answered 401 with ``WWW-Authenticate: Bearer resource_metadata="…"``, whose
document names this site as the authorization server (MCP authorization, RFC 9728).

The endpoint's URL is ``TWENTY_OAUTH["ISSUER"]`` + ``/mcp`` (the example reads the issuer from
``TWENTY_OAUTH_ISSUER``), or ``http://127.0.0.1:8000/mcp`` when no issuer is set.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel

from example_project.companies.models import Company as CompanyModel
from twenty_oauth.conf import oauth_settings
from twenty_oauth.mcp import TokenVerifier, auth_settings

DEFAULT_ORIGIN = "http://127.0.0.1:8000"
PATH = "/mcp"


def resource_url() -> str:
    """The MCP server's canonical URL: its resource identifier (RFC 8707, MCP authorization)."""
    issuer = oauth_settings.ISSUER or DEFAULT_ORIGIN
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{PATH}"


class Company(BaseModel):
    id: int
    name: str
    domain_name: str
    employees: int
    city: str


def _companies() -> list[Company]:
    return [
        Company(id=c.pk, name=c.name, domain_name=c.domain_name, employees=c.employees, city=c.city)
        for c in CompanyModel.objects.all()
    ]


def transport_security() -> TransportSecuritySettings:
    """
    DNS-rebinding protection (MCP transports: servers must check ``Origin``): the site's own
    hosts, and the origin of the endpoint.
    """
    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
    origin = urlsplit(resource_url())
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)],
        allowed_origins=[f"{origin.scheme}://{origin.netloc}"],
    )


def build() -> tuple[MCPServer, object]:
    """The MCP server and its ASGI app. Stateless, JSON answers: any worker serves any request."""
    resource = resource_url()
    server = MCPServer(
        name="twenty-oauth example",
        instructions="Companies of the twenty-oauth example site.",
        token_verifier=TokenVerifier(resource),
        auth=auth_settings(resource, required_scopes=["api"]),
    )

    @server.tool(
        name="list_companies",
        title="List companies",
        description="The companies of the example site: name, domain, employees and city.",
    )
    async def list_companies() -> list[Company]:
        return await sync_to_async(_companies, thread_sensitive=True)()

    app = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=transport_security(),
    )
    return server, app


server, app = build()
