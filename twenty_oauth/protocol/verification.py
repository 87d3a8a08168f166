"""
Checking the access tokens this server signed (RFC 9068 §4): the signature and claims, then the
token's row, on every bearer check, introspection and revocation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from twenty_oauth.lookups import JoinedLookup, fields_of
from twenty_oauth.models import AccessToken, Client
from twenty_oauth.protocol.keys import keyring

#: The JOSE header's ``typ`` of an access token (RFC 9068 §2.1).
ACCESS_TOKEN_TYPE = "at+jwt"

#: Claims of the access tokens whose signature this process verified, by (token, issuer,
#: audience): a client sends the same token with every request until it expires, and the
#: signature of the same bytes checks the same way every time. Expiry and the key (a retired
#: key ends its tokens) are checked on every use; revocation is checked in the database.
#: Bounded: at most ``VERIFIED_CACHE_SIZE`` entries (emptied when full), each for a token of at
#: most ``VERIFIED_CACHE_TOKEN_CHARS`` characters; a longer one, which only a claims hook can
#: make, is verified on every use. With this app's own claims an entry is about 1.3 kB (a
#: 466-character token), about 5.3 MB a process when full; with tokens at the length limit
#: (a hook adding a list of strings) about 4.2 kB, 17 MB when full (measured with tracemalloc).
_verified: dict[tuple[str, str, str | None], tuple[dict[str, Any], str]] = {}
VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_TOKEN_CHARS = 2048

#: The client fields read with an access token's row (the bearer check, introspection,
#: revocation): its row with every field would cost the bearer check a third of its time (some
#: thirty columns, six of them JSON to decode). The rest load when read.
BEARER_CLIENT_FIELDS = ("client_id", "client_name", "is_active")

_access_fields = (*fields_of(AccessToken), *(f"client__{name}" for name in BEARER_CLIENT_FIELDS))
_access_record = JoinedLookup(AccessToken, "jti", ("client", "user"), only=_access_fields)


@dataclass(frozen=True)
class VerifiedToken:
    """
    What a resource server learns from a valid access token: ``request.auth`` in a view behind
    :class:`twenty_oauth.drf.BearerTokenAuthentication`.

    ``claims`` is the token's JWT claims set as signed (RFC 9068 §2.2): ``iss``, ``sub`` (the
    user's primary key as a string, or the ``client_id`` for a client's own token), ``aud``
    (a string or a list), ``client_id``, ``scope`` (space-separated), ``iat``, ``exp``, ``jti``,
    ``cnf`` for a token bound to a DPoP key (RFC 9449 §6.1, see ``jkt``), and any that
    ``ACCESS_TOKEN_CLAIMS`` added. It is the dict the signature check produced, a
    copy per request: read it, do not change it. ``record`` is the token's database row, with
    its ``user`` (None for a client's own token) and ``client`` already loaded: of the client,
    ``client_id``, ``client_name`` and ``is_active`` (``BEARER_CLIENT_FIELDS``); its other fields
    are deferred, each read from the database when first used, as ``QuerySet.only`` does.
    """

    claims: dict[str, Any]
    record: AccessToken

    @property
    def client(self) -> Client:
        return self.record.client

    @property
    def user(self) -> Any:
        return self.record.user

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.claims.get("scope", "").split())

    @property
    def audience(self) -> list[str]:
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else list(aud or [])

    def has_scopes(self, *scopes: str) -> bool:
        return self.scopes.issuperset(scopes)

    @property
    def jkt(self) -> str | None:
        """The thumbprint of the DPoP key the token is bound to (``cnf.jkt``, RFC 9449 §6.1), or None."""
        return bound_key(self.claims)


def bound_key(claims: dict[str, Any]) -> str | None:
    """``cnf.jkt`` of an access token's claims (RFC 9449 §6.1): the key it is bound to, or None."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) else None


class TokenRejected(Exception):
    """The token is not valid. Never says why to the presenter (RFC 6750 §3.1)."""


def decode_access_token(token: str, *, issuer: str, audience: str | None = None) -> dict[str, Any]:
    """Verify a JWT access token's signature and claims (RFC 9068 §4), without the database."""
    claims = _verified_claims(token, issuer=issuer, audience=audience)
    exp = claims["exp"]
    # RFC 7519 §4.1.4 (PyJWT's rule): refused from the second ``exp`` names on.
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= time.time():
        raise TokenRejected("expired")
    return dict(claims)


def _verified_claims(token: str, *, issuer: str, audience: str | None) -> dict[str, Any]:
    """The claims of a token signed by a key of the ring, from the cache when it was seen before."""
    cache_key = (token, issuer, audience)
    hit = _verified.get(cache_key)
    if hit is not None and keyring.verification_key(hit[1]) is not None:
        return hit[0]
    claims, kid = _verify_signature(token, issuer=issuer, audience=audience)
    if len(token) <= VERIFIED_CACHE_TOKEN_CHARS:
        if len(_verified) >= VERIFIED_CACHE_SIZE:
            _verified.clear()
        _verified[cache_key] = (claims, kid)
    return claims


def _verify_signature(token: str, *, issuer: str, audience: str | None) -> tuple[dict[str, Any], str]:
    """The claims of a token signed by a key of the ring, every check but expiry, and its kid."""
    try:
        header = jwt.get_unverified_header(token)
        # The header is the presenter's until the signature is checked: any JSON may be there.
        typ, kid = header.get("typ"), header.get("kid")
        if not isinstance(typ, str) or typ.lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
            raise TokenRejected("not an access token")
        key = keyring.verification_key(kid) if isinstance(kid, str) else None
        if key is None or header.get("alg") != key.algorithm:
            raise TokenRejected("unknown key")
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            issuer=issuer,
            audience=audience,
            options={
                "require": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"],
                "verify_aud": audience is not None,
                "verify_exp": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenRejected(str(exc)) from exc
    return claims, key.kid


def verify_access_token(token: str, *, issuer: str, audience: str | None = None) -> VerifiedToken:
    """
    A full bearer check: signature and claims, then one query to be sure the token was not
    revoked and its client and user are still active. Revocation takes effect at once, in
    every process, because the database is the one place all of them read.
    """
    claims = decode_access_token(token, issuer=issuer, audience=audience)
    record = _access_record.get(claims["jti"])
    if (
        record is None
        or record.revoked_at is not None
        or not record.client.is_active
        or (record.user is not None and not record.user.is_active)
        or record.expires_at.timestamp() <= time.time()
    ):
        raise TokenRejected("revoked or inactive")
    return VerifiedToken(claims=claims, record=record)


def find_access_token(value: str, *, issuer: str) -> tuple[AccessToken, dict[str, Any]] | None:
    """
    The record and claims of an access token this server signed, expired or not; its client
    loaded as ``VerifiedToken.record``'s is.
    """
    if value.count(".") != 2:
        return None
    try:
        claims = _verified_claims(value, issuer=issuer, audience=None)
    except TokenRejected:
        return None
    record = _access_record.get(claims["jti"])
    return (record, dict(claims)) if record is not None else None
