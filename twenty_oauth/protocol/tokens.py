"""
Issuing, checking and revoking tokens.

Access tokens are JWTs in the RFC 9068 profile, signed by the key ring's signing key; a row
keyed by ``jti`` lets them be revoked and introspected. Refresh tokens are opaque and kept as
digests. Every token of a user's authorization belongs to a ``TokenFamily`` so that one reuse or
one revocation can end all that came from it (RFC 9700 §4.14.2). A client-credentials token is
a grant by itself, with no refresh token to descend from it (RFC 6749 §4.4.3): it has no family,
and is revoked by its own row (:func:`revoke_own_tokens`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from twenty_oauth import writes
from twenty_oauth.conf import oauth_settings
from twenty_oauth.lookups import JoinedLookup
from twenty_oauth.models import AccessToken, Client, Consent, RefreshToken, TokenFamily
from twenty_oauth.protocol import id_tokens, jws, opaque
from twenty_oauth.protocol.keys import keyring

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


def _consent_revoked() -> dict[str, Exists]:
    """Whether the user withdrew the consent the refresh token's family was granted under."""
    withdrawn = Consent.objects.filter(
        user=OuterRef("family__user"), client=OuterRef("family__client"), revoked_at__isnull=False
    )
    return {"consent_revoked": Exists(withdrawn)}


#: The client fields read with an access token's row (the bearer check, introspection,
#: revocation): its row with every field would cost the bearer check a third of its time (some
#: thirty columns, six of them JSON to decode). The rest load when read.
BEARER_CLIENT_FIELDS = ("client_id", "client_name", "is_active")

_access_fields = [field.name for field in AccessToken._meta.concrete_fields]
_access_fields += [f"client__{name}" for name in BEARER_CLIENT_FIELDS]
_access_record = JoinedLookup(AccessToken, "jti", ("client", "user"), only=tuple(_access_fields))
_refresh_record = JoinedLookup(
    RefreshToken, "token_digest", ("family", "family__client", "family__user"), annotate=_consent_revoked
)
# The client that presents its own refresh token is already loaded: no need to read it twice.
_own_refresh_record = JoinedLookup(
    RefreshToken, "token_digest", ("family", "family__user"), annotate=_consent_revoked
)


def audience_claim(audience: list[str]) -> str | list[str]:
    return audience[0] if len(audience) == 1 else list(audience)


def access_token(
    *,
    issuer: str,
    client: Client,
    user: Any,
    scopes: list[str],
    audience: list[str],
    now: datetime,
    jkt: str | None = None,
) -> tuple[str, int, writes.Row]:
    """
    Sign an RFC 9068 access token. Returns the JWT, its lifetime and its row, not yet saved nor
    given its family. With ``jkt`` the token is bound to that DPoP key: ``cnf.jkt`` (RFC 9449 §6.1).
    """
    key = keyring.signing_key()  # first: with no key, nothing is written
    lifetime = oauth_settings.ACCESS_TOKEN_LIFETIME
    jti = opaque.generate_token_id()
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        # RFC 9068 §2.2: with no resource owner, the subject is the client itself.
        "sub": str(user.pk) if user is not None else client.client_id,
        "aud": audience_claim(audience),
        "client_id": client.client_id,
        "scope": " ".join(scopes),
        "iat": iat,
        "exp": iat + lifetime,
        "jti": jti,
    }
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    hook = oauth_settings.ACCESS_TOKEN_CLAIMS
    if hook is not None:
        extra = hook(dict(claims), client, user) or {}
        # The hook may add claims, never change the ones that make the token safe to accept.
        claims.update({k: v for k, v in extra.items() if k not in claims})
    record = writes.Row(
        AccessToken,
        {
            "jti": jti,
            "client_id": client.pk,
            "user_id": user.pk if user is not None else None,
            "scope": " ".join(scopes),
            "audience": audience,
            "created_at": now,
            "expires_at": now + timedelta(seconds=lifetime),
        },
    )
    token = jws.sign(claims, key, typ=ACCESS_TOKEN_TYPE)
    return token, lifetime, record


def refresh_token(scopes: list[str], now: datetime) -> tuple[str, writes.Row]:
    """A new opaque refresh token and its row (a digest), not yet saved nor given its family."""
    value = opaque.generate_secret()
    record = writes.Row(
        RefreshToken,
        {
            "token_digest": opaque.digest(value),
            "scope": " ".join(scopes),
            "created_at": now,
            "expires_at": now + timedelta(seconds=oauth_settings.REFRESH_TOKEN_LIFETIME),
        },
    )
    return value, record


@dataclass(frozen=True)
class Issued:
    """A token response's body (RFC 6749 §5.1) and the user it was issued for, if any."""

    body: dict[str, Any]
    user: Any

    @property
    def scopes(self) -> list[str]:
        return self.body["scope"].split()


def token_response(
    *,
    issuer: str,
    client: Client,
    user: Any,
    scopes: list[str],
    audience: list[str],
    family: TokenFamily | writes.Row | None,
    refresh: bool,
    refresh_scopes: list[str] | None = None,
    now: datetime | None = None,
    spend: writes.Spend | None = None,
    jkt: str | None = None,
    authentication: id_tokens.Authentication | None = None,
) -> Issued | None:
    """
    Issue an access token (and a refresh token) and build the RFC 6749 §5.1 body. A refresh
    token keeps the scope of the grant even when the access token's is narrower (RFC 6749 §6).

    ``family`` is the grant's family, or a new one's :class:`~twenty_oauth.writes.Row` saved with
    the tokens; None for a token that is a grant by itself (client credentials). With ``spend``,
    the code or refresh token it names is spent in the same write, and None is returned, with
    nothing written, when another request spent it first. With ``jkt``, the thumbprint of the
    key of the request's DPoP proof, the access token is bound to that key and its type is
    ``DPoP`` (RFC 9449 §5). With ``authentication`` (a grant with the ``openid`` scope), the body
    carries an ID token too (OpenID Connect Core §3.1.3.3, §12.2).
    """
    now = now or timezone.now()
    access, expires_in, record = access_token(
        issuer=issuer, client=client, user=user, scopes=scopes, audience=audience, now=now, jkt=jkt
    )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "DPoP" if jkt is not None else "Bearer",
        "expires_in": expires_in,
    }
    rows = [record]
    if refresh:
        body["refresh_token"], refresh_record = refresh_token(refresh_scopes or scopes, now)
        if jkt is not None and client.is_public:
            # RFC 9449 §5: a public client's refresh token is bound to its key as well.
            refresh_record.values["dpop_jkt"] = jkt
        rows.append(refresh_record)
    body["scope"] = " ".join(scopes)
    if authentication is not None:
        body["id_token"] = id_tokens.sign(
            authentication,
            issuer=issuer,
            client=client,
            user=user,
            scopes=scopes,
            access_token=access,
            now=now,
        )
    if not writes.issue(family, rows, spend):
        return None
    return Issued(body=body, user=user)


def revoke_family(family_id: int, now: datetime | None = None) -> None:
    """End a family: its refresh tokens can no longer be used and its access tokens stop working."""
    now = now or timezone.now()
    with transaction.atomic():
        TokenFamily.objects.filter(pk=family_id, revoked_at__isnull=True).update(revoked_at=now)
        RefreshToken.objects.filter(family_id=family_id, revoked_at__isnull=True).update(revoked_at=now)
        AccessToken.objects.filter(family_id=family_id, revoked_at__isnull=True).update(revoked_at=now)


def revoke_own_tokens(access_tokens) -> int:
    """
    Revoke the client-credentials tokens among a queryset of access tokens: those with no
    family, each a grant by itself. Returns how many were live.
    """
    live = access_tokens.filter(family__isnull=True, revoked_at__isnull=True)
    return live.update(revoked_at=timezone.now())


def revoke_families(families) -> int:
    """Revoke every family of a queryset (a user's grants to a client, a client's grants)."""
    now = timezone.now()
    ids = list(families.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    with transaction.atomic():
        TokenFamily.objects.filter(pk__in=ids).update(revoked_at=now)
        RefreshToken.objects.filter(family_id__in=ids, revoked_at__isnull=True).update(revoked_at=now)
        AccessToken.objects.filter(family_id__in=ids, revoked_at__isnull=True).update(revoked_at=now)
    return len(ids)


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


def find_refresh_token(value: str) -> RefreshToken | None:
    """
    The refresh token with its family, client and user, in one query. ``consent_revoked`` says
    whether the user withdrew the consent the family was granted under.
    """
    return _refresh_record.get(opaque.digest(value))


def find_own_refresh_token(value: str, client: Client) -> RefreshToken | None:
    """
    The refresh token ``client`` presents, with its family and user in one query, or None when
    there is no such token or it is another client's. Its family's ``client`` is ``client``.
    """
    token = _own_refresh_record.get(opaque.digest(value))
    if token is None or token.family.client_id != client.pk:
        return None
    token.family.client = client
    return token


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
