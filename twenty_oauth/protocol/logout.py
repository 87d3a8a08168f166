"""
RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2-§3): which client asks, whether
the person it names is the one signed in, and where they may be sent afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twenty_oauth.errors import InvalidLogoutRequest
from twenty_oauth.models import Client
from twenty_oauth.protocol import id_tokens
from twenty_oauth.protocol.parameters import Params


@dataclass(frozen=True)
class LogoutRequest:
    """A checked logout request. ``redirect_uri`` is one the client registered, or None."""

    client: Client | None
    redirect_uri: str | None
    state: str | None
    hint_subject: str | None


def _client_of(claims: dict[str, Any] | None, client_id: str | None) -> Client | None:
    """The client the hint was issued to (its ``azp``, else its one ``aud``) or ``client_id`` names."""
    named = None
    if claims is not None:
        aud = claims.get("aud")
        named = claims.get("azp") or (aud if isinstance(aud, str) else None)
        if not isinstance(named, str) or (client_id is not None and client_id != named):
            raise InvalidLogoutRequest("client_id is not the client the id_token_hint was issued to.")
    named = named or client_id
    if named is None:
        return None
    client = Client.objects.filter(client_id=named, is_active=True).first()
    if client is None:
        raise InvalidLogoutRequest("The application that sent you here is not registered.")
    return client


def resolve(params: Params, *, issuer: str) -> LogoutRequest:
    """
    Check a logout request (§2). ``id_token_hint`` must be an ID token this server issued
    (expired or not); ``post_logout_redirect_uri`` must be, character for character, one the
    client registered (§3.1), and the client must be known from the hint or ``client_id``.
    Anything else is ``InvalidLogoutRequest``: shown on a page, never redirected.
    """
    hint = params.get("id_token_hint")
    claims = None
    if hint is not None:
        claims = id_tokens.decode_hint(hint, issuer=issuer)
        if claims is None or not isinstance(claims.get("sub"), str):
            raise InvalidLogoutRequest("The id_token_hint was not issued by this server.")
    client = _client_of(claims, params.get("client_id"))
    requested = params.get("post_logout_redirect_uri")
    if requested is not None:
        if client is None:
            raise InvalidLogoutRequest(
                "post_logout_redirect_uri needs the id_token_hint or the client_id of its application."
            )
        if requested not in client.post_logout_redirect_uris:
            raise InvalidLogoutRequest("The post_logout_redirect_uri is not registered for this application.")
    return LogoutRequest(
        client=client,
        redirect_uri=requested,
        state=params.get("state"),
        hint_subject=claims["sub"] if claims is not None else None,
    )
