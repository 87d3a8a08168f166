"""
Issuing and revoking tokens; checking an access token is :mod:`twenty_oauth.protocol.verification`.

Access tokens are JWTs in the RFC 9068 profile, signed by the key ring's signing key; a row
keyed by ``jti`` lets them be revoked and introspected. Refresh tokens are opaque and kept as
digests. Every token of a user's authorization belongs to a ``TokenFamily`` so that one reuse or
one revocation can end all that came from it (RFC 9700 §4.14.2). A client-credentials token is
a grant by itself, with no refresh token to descend from it (RFC 6749 §4.4.3): it has no family,
and is revoked by its own row (:func:`revoke_own_tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from twenty_oauth import writes
from twenty_oauth.conf import oauth_settings
from twenty_oauth.lookups import JoinedLookup, fields_of
from twenty_oauth.models import AccessToken, Client, Consent, RefreshToken, TokenFamily
from twenty_oauth.protocol import id_tokens, jws, opaque
from twenty_oauth.protocol.keys import keyring
from twenty_oauth.protocol.verification import ACCESS_TOKEN_TYPE
from twenty_oauth.protocol.verification import VerifiedToken as VerifiedToken  # its documented name


def _consent_revoked() -> dict[str, Exists]:
    """Whether the user withdrew the consent the refresh token's family was granted under."""
    withdrawn = Consent.objects.filter(
        user=OuterRef("family__user"), client=OuterRef("family__client"), revoked_at__isnull=False
    )
    return {"consent_revoked": Exists(withdrawn)}


_refresh_record = JoinedLookup(
    RefreshToken,
    "token_digest",
    ("family", "family__client", "family__user"),
    annotate=_consent_revoked,
    # The client as client authentication reads one (``Client.authentication_fields``).
    only=(
        *fields_of(RefreshToken),
        *fields_of(TokenFamily, "family__"),
        *Client.authentication_fields("family__client__"),
    ),
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
