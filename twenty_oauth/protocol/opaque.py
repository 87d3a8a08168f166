"""
Random values and their digests.

Codes, refresh tokens and client secrets carry 256 bits from :mod:`secrets` in the URL-safe
alphabet (RFC 6749 §10.10, RFC 9700 §4.3). Only their SHA-256 digest is stored: a leaked
database gives nothing usable, and a value this random needs no slow password hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def generate_secret(nbytes: int = 32) -> str:
    """A URL-safe random string of ``nbytes`` bytes of entropy (43 characters for 32)."""
    return secrets.token_urlsafe(nbytes)


def generate_token_id() -> str:
    """
    An access token's ``jti`` (RFC 7519 §4.1.7): unique, and ordered by time of issue as a
    UUIDv7 is (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 80 random bits, in 32 hex
    digits. A new row then lands at the right-hand edge of the ``jti`` index, on pages the
    database already holds in memory, however many rows the table has; a random ``jti`` would
    touch a page anywhere in it.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def generate_client_id() -> str:
    """A client identifier with 144 bits of entropy (RFC 6749 §2.2: unique, not guessable)."""
    return secrets.token_urlsafe(18)


def digest(value: str) -> str:
    """The hex SHA-256 of a secret, the only form in which it is stored."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def matches(value: str, stored_digest: str) -> bool:
    """Compare a presented secret with a stored digest in constant time."""
    if not stored_digest:
        return False
    return hmac.compare_digest(digest(value), stored_digest)
