"""
ID tokens (OpenID Connect Core §2, §3.1.3.6): the signed statement that a user signed in to a
relying party, returned with the access token when the grant has the ``openid`` scope.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import identity_claims, jws
from twenty_oauth.protocol.keys import keyring

#: OpenID Connect Core §15.1: ``RS256`` is what every relying party can verify; ``ES256`` is the
#: server's own default.
ALGORITHMS = ("ES256", "RS256")
DEFAULT_ALGORITHM = "ES256"
OPENID_SCOPE = "openid"


@dataclass(frozen=True)
class Authentication:
    """
    What an ID token says about the sign-in it comes from: the user's ``sub``, when they signed
    in, and the ``nonce`` of the authorization request (None on a refresh: §12.2).
    """

    subject: str
    auth_time: datetime | None
    nonce: str | None = None


def is_openid(scopes: list[str] | tuple[str, ...]) -> bool:
    """An OpenID Connect request is one with the ``openid`` scope (§3.1.2.1)."""
    return OPENID_SCOPE in scopes


def algorithm_for(client: Any) -> str:
    """The algorithm the client registered (Registration §2), else the server's default."""
    return client.id_token_signed_response_alg or DEFAULT_ALGORITHM


def half_hash(value: str) -> str:
    """
    ``at_hash`` (§3.1.3.6): the left half of the SHA-256 digest of the token's ASCII octets,
    base64url without padding. SHA-256 is the hash of both ES256 and RS256.
    """
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def sign(
    authentication: Authentication,
    *,
    issuer: str,
    client: Any,
    user: Any,
    scopes: list[str],
    access_token: str,
    now: datetime,
) -> str:
    """
    An ID token for ``client`` (§2): ``iss``, ``sub``, ``aud`` (the client), ``azp``, ``exp``,
    ``iat``, ``auth_time`` (whenever it is known: §2 makes it optional otherwise, and it is
    required when ``max_age`` was asked or the client registered ``require_auth_time``),
    ``nonce`` when the request sent one, ``at_hash``, and the claims of the granted scopes
    (§5.4) with what ``OPENID_CLAIMS`` adds.
    """
    key = keyring.signing_key_for(algorithm_for(client))
    iat = int(now.timestamp())
    claims: dict[str, Any] = identity_claims.for_scopes(user, client, scopes)
    claims.update(
        {
            "iss": issuer,
            "sub": authentication.subject,
            "aud": client.client_id,
            "azp": client.client_id,
            "exp": iat + oauth_settings.ID_TOKEN_LIFETIME,
            "iat": iat,
            "at_hash": half_hash(access_token),
        }
    )
    if authentication.auth_time is not None:
        claims["auth_time"] = int(authentication.auth_time.timestamp())
    if authentication.nonce:
        claims["nonce"] = authentication.nonce
    return jws.sign(claims, key, typ="JWT")


def decode_hint(token: str, *, issuer: str) -> dict[str, Any] | None:
    """
    The claims of an ID token this server issued, passed back as ``id_token_hint`` (§3.1.2.1,
    RP-Initiated Logout §2): signature and issuer checked, expiry not (an expired ID token is
    still a good hint). None when it is not one.
    """
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        key = keyring.verification_key(kid) if isinstance(kid, str) else None
        if key is None or header.get("alg") != key.algorithm:
            return None
        return jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            issuer=issuer,
            options={"require": ["iss", "sub", "aud", "iat"], "verify_aud": False, "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
