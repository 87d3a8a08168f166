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

A client with a DPoP-bound token (RFC 9449) sends ``Authorization: DPoP <token>`` and a proof;
the SDK reads Bearer tokens only, so :class:`DPoP` wraps the app and checks the proof first::

    app = DPoP(server.streamable_http_app(...), RESOURCE)

MCP clients ask for tokens with ``resource=<the server's URL>`` (RFC 8707, as MCP's
authorization spec requires); the verifier accepts only tokens whose ``aud`` holds that URL, so
a token minted for the site's REST API, or for another MCP server, is refused (RFC 9068 §4).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
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
from twenty_oauth.errors import InvalidDPoPProof, UseDPoPNonce
from twenty_oauth.protocol import discovery, dpop, verification

#: The token whose DPoP proof :class:`DPoP` checked for the request being served: a bound token
#: is accepted only then (RFC 9449 §7.2).
_proven: ContextVar[str | None] = ContextVar("twenty_oauth_dpop_proven", default=None)


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
    then answers 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3). A DPoP-bound token is
    accepted only when :class:`DPoP` checked its proof for this request.
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
            verified = verification.verify_access_token(
                token, issuer=self.issuer or default_issuer(self.resource), audience=self.resource
            )
            proven = _proven.get() == token
            if verified.jkt is not None and not proven:
                return None  # a DPoP-bound token without its proof (RFC 9449 §7.2)
            if not proven and self.resource in oauth_settings.DPOP_REQUIRED_RESOURCES:
                return None  # this resource accepts DPoP-bound tokens only
            return self._access_token(token, verified)
        except verification.TokenRejected:
            return None
        finally:
            close_old_connections()

    def _access_token(self, token: str, verified: verification.VerifiedToken) -> provider.AccessToken:
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


class DPoP:
    """
    ASGI middleware in front of the SDK's app that accepts DPoP-bound tokens (RFC 9449 §7).

    ``Authorization: DPoP <token>`` with a ``DPoP`` proof: the proof must be signed by the key
    the token is bound to (``cnf.jkt``), for this request's method and for ``resource`` (the
    server's canonical URL, never a ``Host`` a client sent), with the token's hash and a fresh
    ``jti`` (§4.3). Then the request goes on as a Bearer one, marked as proven for the
    :class:`TokenVerifier`, which does every other check. A failed proof is answered 401 with
    ``WWW-Authenticate: DPoP error="invalid_dpop_proof"``; every 401 names the DPoP challenge
    beside the SDK's Bearer one (§7.1).
    """

    def __init__(self, app: Any, resource: str, *, issuer: str | None = None) -> None:
        self.app = app
        self.resource = resource
        self.issuer = issuer

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        marker = None
        if scheme.lower() == "dpop":
            token = token.strip()
            # Two DPoP fields, joined as a proxy would join them, make no JWT (§4.3 point 1).
            proof = b",".join(value for name, value in scope["headers"] if name == b"dpop").decode("latin-1")
            refused = await sync_to_async(self._check, thread_sensitive=True)(scope["method"], token, proof)
            if refused is not None:
                await self._refuse(send, refused)
                return
            scope = {
                **scope,
                "headers": [
                    (name, f"Bearer {token}".encode("latin-1") if name == b"authorization" else value)
                    for name, value in scope["headers"]
                ],
            }
            marker = _proven.set(token)
        try:
            await self.app(scope, receive, self._with_challenge(send))
        finally:
            if marker is not None:
                _proven.reset(marker)

    def _check(self, method: str, token: str, proof: str) -> tuple[str, str] | None:
        """None when the proof holds for this token, else the error and its description."""
        try:
            claims = verification.decode_access_token(
                token, issuer=self.issuer or default_issuer(self.resource), audience=self.resource
            )
        except verification.TokenRejected:
            return "invalid_token", "The access token is invalid."
        jkt = verification.bound_key(claims)
        if jkt is None:
            return "invalid_token", "The access token is not DPoP-bound."
        try:
            dpop.check(proof, method=method, url=self.resource, access_token=token, bound_jkt=jkt)
        except (InvalidDPoPProof, UseDPoPNonce) as exc:
            return exc.error, exc.description
        return None

    def _metadata_challenge(self) -> str:
        url = _origin(self.resource) + discovery.well_known_path(discovery.RESOURCE_METADATA, self.resource)
        return f'Bearer resource_metadata="{url}"'

    async def _refuse(self, send: Any, refused: tuple[str, str]) -> None:
        error, description = refused
        body = json.dumps({"error": error, "error_description": description}).encode()
        challenge = f"{self._metadata_challenge()}, {dpop.challenge(error)}"
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", challenge.encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _with_challenge(self, send: Any) -> Any:
        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                headers = [
                    (
                        name,
                        value + b", " + dpop.challenge().encode()
                        if name.lower() == b"www-authenticate"
                        else value,
                    )
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        return sending
