"""
The claims about a user that OpenID Connect scopes ask for (OpenID Connect Core §5.1, §5.4):
``profile`` and ``email``, from whichever of the fields the user model has, then the
``OPENID_CLAIMS`` hook.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from twenty_oauth.conf import oauth_settings

#: OpenID Connect Core §5.4: the claims each scope asks for, of those a Django user can have.
PROFILE_CLAIMS = ("name", "given_name", "family_name", "preferred_username", "updated_at")
EMAIL_CLAIMS = ("email", "email_verified")
SCOPE_CLAIMS = {"profile": PROFILE_CLAIMS, "email": EMAIL_CLAIMS}
#: Every claim this server may state: advertised as ``claims_supported`` (Discovery §3).
CLAIMS_SUPPORTED = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    *PROFILE_CLAIMS,
    *EMAIL_CLAIMS,
)


def _profile(user: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if hasattr(user, "get_full_name"):
        name = user.get_full_name()
        if name:
            claims["name"] = name
    for claim, field in (("given_name", "first_name"), ("family_name", "last_name")):
        value = getattr(user, field, None)
        if isinstance(value, str) and value:
            claims[claim] = value
    claims["preferred_username"] = user.get_username()
    updated = getattr(user, "updated_at", None)
    if isinstance(updated, datetime):
        claims["updated_at"] = int(updated.timestamp())  # §5.1: seconds since the epoch
    return claims


def _email(user: Any) -> dict[str, Any]:
    field = getattr(user, "get_email_field_name", lambda: "email")()
    email = getattr(user, field, None)
    if not email:
        return {}
    claims: dict[str, Any] = {"email": email}
    hook = oauth_settings.EMAIL_VERIFIED
    if hook is not None:
        claims["email_verified"] = bool(hook(user))
    return claims


def for_scopes(user: Any, client: Any, scopes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """
    The user's claims for ``scopes`` (§5.4), with what ``OPENID_CLAIMS`` adds. Without ``sub``:
    the caller states it.
    """
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims.update(_profile(user))
    if "email" in scopes:
        claims.update(_email(user))
    hook = oauth_settings.OPENID_CLAIMS
    if hook is not None:
        extra = hook(dict(claims), client, user, list(scopes)) or {}
        claims.update({k: v for k, v in extra.items() if k not in PROTECTED})
    return claims


#: The claims that make an ID token safe to accept: no hook may set them (OpenID Connect Core §2).
PROTECTED = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "acr", "amr"}
)
