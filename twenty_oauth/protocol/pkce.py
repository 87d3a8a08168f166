"""Proof Key for Code Exchange (RFC 7636), S256 only (RFC 9700 §2.1.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from twenty_oauth.errors import InvalidGrant, InvalidRequest

#: RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
#: RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is exactly 43 characters, no padding.
CHALLENGE_RE = re.compile(r"[A-Za-z0-9\-_]{43}")

SUPPORTED_METHODS = ("S256",)


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: ``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))``."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def validate_challenge(challenge: str | None, method: str | None) -> None:
    """
    Check an authorization request's ``code_challenge`` and ``code_challenge_method``.

    Only S256 is accepted: ``plain`` offers no protection when the request leaks (RFC 9700
    §2.1.1). A method without a challenge is refused, as is a challenge that could not be the
    S256 of a valid verifier.
    """
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was sent without code_challenge.")
        return
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256.")
    if not CHALLENGE_RE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters (RFC 7636 section 4.2).")


def verify(verifier: str | None, challenge: str) -> None:
    """
    Check a token request's ``code_verifier`` against the code's challenge (RFC 7636 §4.6).

    A verifier for a code issued without a challenge, or a code with a challenge redeemed
    without a verifier, is a PKCE downgrade and is refused (RFC 9700 §4.8.2).
    """
    if not challenge:
        if verifier is not None:
            raise InvalidGrant("code_verifier was sent for a code issued without code_challenge.")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required: the code was issued with a code_challenge.")
    if not VERIFIER_RE.fullmatch(verifier):
        raise InvalidRequest("code_verifier must be 43 to 128 characters (RFC 7636 section 4.1).")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge.")
