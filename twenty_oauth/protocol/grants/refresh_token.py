"""The refresh token grant (RFC 6749 §6), with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from django.utils import timezone

from twenty_oauth import signals, writes
from twenty_oauth.errors import InvalidGrant, InvalidRequest, UnauthorizedClient
from twenty_oauth.models import Client, RefreshToken
from twenty_oauth.protocol import id_tokens, resources, scopes, tokens
from twenty_oauth.protocol.discovery import Site
from twenty_oauth.protocol.grants import NOTHING, Presented
from twenty_oauth.protocol.parameters import Params


def find(params: Params) -> Presented:
    """The refresh token ``params`` present, with its family, client and user, in one query."""
    value = params.get("refresh_token")
    token = tokens.find_refresh_token(value) if value is not None else None
    return NOTHING if token is None else Presented(token, token.family.client)


def exchange(
    params: Params, client: Client, presented: Presented, *, site: Site, ip: str, jkt: str | None = None
) -> tokens.Issued:
    """
    Spend a refresh token and issue its successor with a new access token. The scope may be
    narrowed, never widened; so may the resource. A refresh token that was already spent is a
    sign of theft: its whole family is revoked, the legitimate holder's tokens included. A
    public client's refresh token issued with a DPoP proof works only with a proof of the same
    key (RFC 9449 §5).
    """
    if not client.can_use_grant("refresh_token"):
        raise UnauthorizedClient("This client is not registered for refresh_token.")
    if params.get("refresh_token") is None:
        raise InvalidRequest("refresh_token is required.")
    token = presented.record
    if token is None or token.family.client_id != client.pk:
        raise InvalidGrant("The refresh token is invalid.")
    family = token.family
    now = timezone.now()
    if family.revoked_at is not None or token.revoked_at is not None:
        raise InvalidGrant("The refresh token has been revoked.")
    if token.used_at is not None:
        _reused(token, ip)
    if token.expires_at <= now:
        raise InvalidGrant("The refresh token has expired.")
    if family.user is not None and not family.user.is_active:
        tokens.revoke_family(family.pk)
        raise InvalidGrant("The user is no longer active.")
    if token.consent_revoked:
        tokens.revoke_family(family.pk)
        raise InvalidGrant("The user withdrew their consent to this client.")
    if token.dpop_jkt and token.dpop_jkt != jkt:
        # RFC 9449 §5: a bound refresh token needs a proof of its key, whoever else holds it.
        raise InvalidGrant("The refresh token is bound to a DPoP key; send a proof of that key.")
    granted = token.scope.split()
    access_scopes = scopes.narrow(params.get("scope"), granted, strict=True)
    audience = resources.narrowed(site, params.resources, family.resource)

    issued = tokens.token_response(
        issuer=site.issuer,
        jkt=jkt,
        client=client,
        user=family.user,
        scopes=access_scopes,
        audience=audience,
        family=family,
        refresh=True,
        refresh_scopes=granted,
        now=now,
        spend=writes.Spend(RefreshToken, token.pk, now, still_null=("revoked_at",)),
        # OpenID Connect Core §12.2: a new ID token, same sub and auth_time, no nonce.
        authentication=(
            id_tokens.Authentication(subject=family.subject, auth_time=family.auth_time)
            if family.subject and id_tokens.is_openid(access_scopes)
            else None
        ),
    )
    if issued is not None:
        return issued
    _reused(token, ip)


def _reused(token: RefreshToken, ip: str) -> None:
    tokens.revoke_family(token.family_id)
    signals.refresh_token_reused.send(
        sender=RefreshToken, client=token.family.client, user=token.family.user, ip=ip
    )
    raise InvalidGrant("The refresh token was already used; every token of its grant is revoked.")
