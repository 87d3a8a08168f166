"""
Accept twenty-oauth's access tokens in an MCP server built on the official SDK (``pip install
'twenty-oauth[mcp]'``). The MCP server runs in the Django project's process (an ASGI app beside
Django, see ``example_project/asgi.py``) so that a revoked token stops working at once::

    from mcp.server.mcpserver import MCPServer
    from twenty_oauth.mcp import TokenVerifier, auth_settings

    RESOURCE = "https://crm.example.com/mcp"
    server = MCPServer(
        "crm",
        token_verifier=TokenVerifier(RESOURCE),
        auth=auth_settings(RESOURCE, required_scopes=["api"]),
    )
    app = server.streamable_http_app(stateless_http=True, json_response=True)

MCP clients ask for tokens with ``resource=<the server's URL>`` (RFC 8707, as MCP's
authorization spec requires); the verifier accepts only tokens whose ``aud`` holds that URL, so
a token minted for the site's REST API, or for another MCP server, is refused (RFC 9068 §4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.db import close_old_connections

try:
    from mcp.server.auth import provider
    from mcp.server.auth.settings import AuthSettings
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("twenty_oauth.mcp needs the MCP SDK: pip install 'twenty-oauth[mcp]'") from exc

from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import tokens


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def default_issuer(resource: str) -> str:
    """``TWENTY_OAUTH["ISSUER"]``, else the resource's origin (an MCP endpoint on the same site)."""
    return oauth_settings.ISSUER or _origin(resource)


class TokenVerifier(provider.TokenVerifier):
    """
    The SDK's ``TokenVerifier`` for twenty-oauth's JWT access tokens: signature, ``iss``,
    ``exp`` and ``aud`` (RFC 9068 §4), then the database, so that revocation, a deactivated
    client or user, take effect at once. Returns None for any token it does not accept; the SDK
    then answers 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3).
    """

    def __init__(self, resource: str, *, issuer: str | None = None) -> None:
        self.resource = resource
        self.issuer = issuer

    async def verify_token(self, token: str) -> provider.AccessToken | None:
        # The ORM is synchronous: run it in Django's thread, as an async view would.
        return await sync_to_async(self.verify, thread_sensitive=True)(token)

    def verify(self, token: str) -> provider.AccessToken | None:
        """The synchronous check, for callers outside an event loop."""
        # No Django request wraps this call: open and close connections as one would.
        close_old_connections()
        try:
            verified = tokens.verify_access_token(
                token, issuer=self.issuer or default_issuer(self.resource), audience=self.resource
            )
            return self._access_token(token, verified)
        except tokens.TokenRejected:
            return None
        finally:
            close_old_connections()

    def _access_token(self, token: str, verified: tokens.VerifiedToken) -> provider.AccessToken:
        claims: dict[str, Any] = dict(verified.claims)
        return provider.AccessToken(
            token=token,
            client_id=verified.client.client_id,
            scopes=sorted(verified.scopes),
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=str(claims["sub"]),
            claims=claims,
        )


def auth_settings(
    resource: str, *, required_scopes: list[str] | None = None, issuer: str | None = None
) -> AuthSettings:
    """
    The SDK's ``AuthSettings`` for an MCP server at ``resource`` whose tokens come from this
    site: its 401 names ``<origin>/.well-known/oauth-protected-resource/<path>``, which
    twenty-oauth serves (RFC 9728 §3.1), and tokens for another resource are refused.
    """
    return AuthSettings(
        issuer_url=issuer or default_issuer(resource),
        resource_server_url=resource,
        required_scopes=required_scopes,
        validate_token_resource=True,
    )
