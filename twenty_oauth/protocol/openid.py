"""
The OpenID Connect parameters of an authorization request (OpenID Connect Core §3.1.2.1) and
what they ask of the person: ``prompt``, ``max_age``, ``id_token_hint``, ``login_hint``,
``nonce``; and when the person signed in (``auth_time``, §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twenty_oauth.errors import (
    ConsentRequired,
    InvalidRequest,
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
)
from twenty_oauth.protocol import id_tokens
from twenty_oauth.protocol.parameters import Params

#: §3.1.2.1 ``prompt`` values. ``select_account`` is met by the consent page's "Not you?".
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
#: Longest ``nonce`` kept with a code: a relying party's nonce is a short random value.
MAX_NONCE_CHARS = 512
#: The session key under which the time the person last signed in is kept.
AUTH_TIME_SESSION_KEY = "twenty_oauth.auth_time"
#: The session key that marks a sign-in asked for by ``prompt=login``: a sign-in older than
#: this time does not satisfy the request that asked.
REAUTH_SESSION_KEY = "twenty_oauth.reauth_after"


@dataclass(frozen=True)
class OpenIDRequest:
    """The OpenID Connect parameters of one authorization request, checked."""

    nonce: str | None = None
    prompt: frozenset[str] = field(default_factory=frozenset)
    max_age: int | None = None
    login_hint: str | None = None
    hint_subject: str | None = None  # ``sub`` of a valid id_token_hint


def refuse_request_objects(params: Params) -> None:
    """§6: request objects are not supported; their own error codes say so."""
    if "request" in params:
        raise RequestNotSupported("Request objects (the request parameter) are not supported.")
    if "request_uri" in params:
        raise RequestUriNotSupported("The request_uri parameter is not supported.")


def parse(params: Params, client: Any, *, issuer: str) -> OpenIDRequest:
    """Check the §3.1.2.1 parameters of an OpenID request; ``invalid_request`` when one is bad."""
    nonce = params.get("nonce")
    if nonce is not None and (not nonce or len(nonce) > MAX_NONCE_CHARS):
        raise InvalidRequest(f"nonce must have 1 to {MAX_NONCE_CHARS} characters.")
    prompt = frozenset((params.get("prompt") or "").split())
    if not prompt <= PROMPTS:
        raise InvalidRequest(f"Unsupported prompt value: {' '.join(sorted(prompt - PROMPTS))}.")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with another value.")
    max_age = client.default_max_age
    raw = params.get("max_age")
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
            raise InvalidRequest("max_age must be a non-negative integer of seconds.")
        max_age = int(raw)
    hint_subject = None
    hint = params.get("id_token_hint")
    if hint is not None:
        claims = id_tokens.decode_hint(hint, issuer=issuer)
        if claims is None or not isinstance(claims.get("sub"), str):
            raise InvalidRequest("id_token_hint is not an ID token issued by this server.")
        hint_subject = claims["sub"]
    return OpenIDRequest(
        nonce=nonce,
        prompt=prompt,
        max_age=max_age,
        login_hint=params.get("login_hint"),
        hint_subject=hint_subject,
    )


def needs_sign_in(
    request: OpenIDRequest,
    *,
    auth_time: datetime | None,
    now: datetime,
    reauth_after: float | None,
) -> bool:
    """
    Whether the person must sign in (again) before the request goes on: ``max_age`` has passed
    since they last did (§3.1.2.1), or ``prompt=login`` asked for a sign-in they have not made
    yet.
    """
    if reauth_after is not None and (auth_time is None or auth_time.timestamp() < reauth_after):
        return True
    return request.max_age is not None and (
        auth_time is None or (now - auth_time).total_seconds() > request.max_age
    )


def without_interaction(request: OpenIDRequest, *, must_sign_in: bool, consented: bool) -> None:
    """
    ``prompt=none`` (§3.1.2.1): the answer is given without showing anything, or the error that
    says what would have been shown, redirected to the client.
    """
    if must_sign_in:
        raise LoginRequired("The user must sign in.")
    if not consented:
        raise ConsentRequired("The user has not allowed this application yet.")
