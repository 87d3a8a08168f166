"""The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.5)."""

from __future__ import annotations

from django.utils import timezone

from twenty_oauth import writes
from twenty_oauth.errors import InvalidGrant, InvalidRequest, UnauthorizedClient
from twenty_oauth.models import AuthorizationCode, Client, TokenFamily
from twenty_oauth.protocol import id_tokens, pkce, resources, tokens
from twenty_oauth.protocol.discovery import Site
from twenty_oauth.protocol.grants import Presented, by_digest, with_client
from twenty_oauth.protocol.parameters import Params

_code_record = with_client(AuthorizationCode, "code_digest")


def find(params: Params) -> Presented:
    """The code ``params`` present, with its user and client, in one query."""
    return by_digest(_code_record, params.get("code"))


def exchange(
    params: Params, client: Client, presented: Presented, *, site: Site, ip: str, jkt: str | None = None
) -> tokens.Issued:
    """
    Redeem a code for tokens. The code must be this client's, unexpired, unspent, and match the
    ``redirect_uri`` and PKCE challenge it was issued with. Every check that a thief could fail
    runs before the code is spent, so a bad replay changes nothing; a second *valid* redemption
    finds the code spent and revokes what the first one issued (RFC 9700 §4.2.4).
    """
    if not client.can_use_grant("authorization_code"):
        raise UnauthorizedClient("This client is not registered for authorization_code.")
    if params.get("code") is None:
        raise InvalidRequest("code is required.")
    code = presented.record
    now = timezone.now()
    if code is None or code.client_id != client.pk:
        raise InvalidGrant("The authorization code is invalid.")
    # A spent code goes on to the checks below, expired or not: a valid second redemption,
    # however late, must still end what the first one was given (RFC 6749 §4.1.2).
    if code.used_at is None and code.expires_at <= now:
        raise InvalidGrant("The authorization code has expired.")
    redirect_uri = params.get("redirect_uri")
    if (code.redirect_uri_sent or redirect_uri is not None) and redirect_uri != code.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the one of the authorization request.")
    pkce.verify(params.get("code_verifier"), code.code_challenge)
    if code.dpop_jkt and code.dpop_jkt != jkt:
        # RFC 9449 §10: the code was bound to a key at the authorization request.
        raise InvalidGrant("The authorization code is bound to another DPoP key (dpop_jkt).")
    if not code.user.is_active:
        raise InvalidGrant("The user is no longer active.")
    audience = resources.narrowed(site, params.resources, code.resource)
    scopes = code.scope.split()
    openid = id_tokens.is_openid(scopes) and bool(code.subject)
    refresh = client.can_use_grant("refresh_token")
    if openid:
        # OpenID Connect Core §11: an OpenID grant is refreshed only with offline_access.
        refresh = refresh and "offline_access" in scopes

    # One conditional UPDATE spends the code, in the write that issues the tokens: exactly one of
    # two concurrent redemptions wins, and none wins once the user's revocation has expired the
    # code since it was read above.
    issued = tokens.token_response(
        issuer=site.issuer,
        jkt=jkt,
        client=client,
        user=code.user,
        scopes=scopes,
        audience=audience,
        family=writes.Row(
            TokenFamily,
            {
                "client_id": client.pk,
                "user_id": code.user_id,
                "scope": code.scope,
                "resource": code.resource or audience,
                "authorization_code_id": code.pk,
                "subject": code.subject if openid else "",
                "auth_time": code.auth_time if openid else None,
                "created_at": now,
            },
        ),
        refresh=refresh,
        now=now,
        spend=writes.Spend(AuthorizationCode, code.pk, now, unexpired=True),
        authentication=(
            id_tokens.Authentication(subject=code.subject, auth_time=code.auth_time, nonce=code.nonce or None)
            if openid
            else None
        ),
    )
    if issued is not None:
        return issued
    if AuthorizationCode.objects.filter(pk=code.pk, used_at__isnull=True).exists():
        raise InvalidGrant("The authorization code has expired.")
    for family_id in TokenFamily.objects.filter(authorization_code=code).values_list("pk", flat=True):
        tokens.revoke_family(family_id)
    raise InvalidGrant("The authorization code was already used; the tokens it issued are revoked.")
