"""Scopes (RFC 6749 §3.3): parsing, the registry in settings, and narrowing to a client."""

from __future__ import annotations

import re

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidScope

#: RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN_RE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def parse(value: str | None) -> list[str]:
    """Split a space-delimited scope string, keeping order and dropping repeats."""
    if value is None:
        return []
    tokens = [token for token in value.split(" ") if token]
    for token in tokens:
        if not SCOPE_TOKEN_RE.fullmatch(token):
            raise InvalidScope("scope contains a character RFC 6749 section 3.3 does not allow.")
    return list(dict.fromkeys(tokens))


def to_string(scopes: list[str]) -> str:
    return " ".join(scopes)


#: The OpenID Connect scopes (OpenID Connect Core §3.1.2.1, §5.4, §11), known whatever
#: ``SCOPES`` says; ``SCOPES`` may give them other descriptions. ``profile`` is among the
#: default ``SCOPES`` already.
OPENID_SCOPES = {
    "openid": "Sign you in to the application with your account",
    "email": "See your email address",
    "offline_access": "Keep access while you are not using the application",
}


def registry() -> dict[str, str]:
    """Scope name → description: ``TWENTY_OAUTH["SCOPES"]``, then the OpenID Connect scopes."""
    configured = oauth_settings.SCOPES
    return {**configured, **{k: v for k, v in OPENID_SCOPES.items() if k not in configured}}


def allowed_for(client) -> list[str]:
    """The scopes a client may ask for: those it registered, else every known scope."""
    known = registry()
    registered = parse(client.scope) if client.scope else []
    return [s for s in registered if s in known] if registered else list(known)


def for_authorization(client, requested: str | None) -> list[str]:
    """
    The scopes of an authorization request. Omitted means ``DEFAULT_SCOPES`` (the contract's
    ``api``); an unknown scope, or one the client did not register, is ``invalid_scope``.
    """
    allowed = allowed_for(client)
    scopes = parse(requested)
    if not scopes:
        scopes = [s for s in oauth_settings.DEFAULT_SCOPES if s in allowed]
        if not scopes:
            raise InvalidScope("No scope was requested and the client has no default scope.")
        return scopes
    unknown = [s for s in scopes if s not in allowed]
    if unknown:
        raise InvalidScope(f"Unknown or not allowed scope: {' '.join(unknown)}.")
    return scopes


def narrow(requested: str | None, granted: list[str], *, strict: bool) -> list[str]:
    """
    The scopes of a token request, which may never widen what was granted. Omitted means
    everything granted.

    ``strict`` (a refresh, RFC 6749 §6): a scope outside the grant is ``invalid_scope``.
    Otherwise (client credentials, RFC 6749 §3.3) the request is narrowed to the grant and the
    token response's ``scope`` says what the token carries.
    """
    scopes = parse(requested)
    if not scopes:
        return list(granted)
    narrowed = [s for s in scopes if s in granted]
    if strict and len(narrowed) != len(scopes):
        raise InvalidScope("The requested scope exceeds the scope originally granted.")
    if not narrowed:
        raise InvalidScope("None of the requested scopes is allowed.")
    return narrowed
