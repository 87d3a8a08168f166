"""The client credentials grant (RFC 6749 §4.4): a token with no user behind it."""

from __future__ import annotations

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidScope, UnauthorizedClient
from twenty_oauth.models import Client
from twenty_oauth.protocol import resources, scopes, tokens
from twenty_oauth.protocol.discovery import Site
from twenty_oauth.protocol.grants import NOTHING, Presented
from twenty_oauth.protocol.parameters import Params


def find(params: Params) -> Presented:
    """The client is the grant (RFC 6749 §4.4): there is nothing else to read."""
    return NOTHING


def exchange(
    params: Params, client: Client, presented: Presented, *, site: Site, ip: str, jkt: str | None = None
) -> tokens.Issued:
    """
    Issue an access token to a confidential client for itself. The scope is narrowed to what the
    client may hold (RFC 6749 §3.3); no refresh token is issued (RFC 6749 §4.4.3), so the token
    is a grant by itself and belongs to no family: its own row is all there is to revoke.
    """
    if client.is_public or not client.can_use_grant("client_credentials"):
        raise UnauthorizedClient("This client is not registered for client_credentials.")
    if not client.may_use_client_credentials:
        raise UnauthorizedClient(
            "This client may not use client_credentials until an administrator allows it."
        )
    allowed = scopes.allowed_for(client)
    if params.get("scope") is None:
        granted = [s for s in oauth_settings.DEFAULT_SCOPES if s in allowed]
        if not granted:
            raise InvalidScope("No scope was requested and the client has no default scope.")
    else:
        granted = scopes.narrow(params["scope"], allowed, strict=False)
    audience = resources.requested(site, params.resources)
    return tokens.token_response(
        issuer=site.issuer,
        jkt=jkt,
        client=client,
        user=None,
        scopes=granted,
        audience=audience,
        family=None,
        refresh=False,
    )
