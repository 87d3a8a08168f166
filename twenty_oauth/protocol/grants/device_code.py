"""The device authorization grant's token request (RFC 8628 §3.4-§3.5): the device polls."""

from __future__ import annotations

from django.utils import timezone

from twenty_oauth import writes
from twenty_oauth.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    UnauthorizedClient,
)
from twenty_oauth.models import Client, DeviceGrant, TokenFamily
from twenty_oauth.protocol import device_polling, resources, tokens
from twenty_oauth.protocol.discovery import DEVICE_CODE_GRANT, Site
from twenty_oauth.protocol.grants import Presented, by_digest, with_client
from twenty_oauth.protocol.parameters import Params

_grant_record = with_client(DeviceGrant, "device_code_digest")


def find(params: Params) -> Presented:
    """The device grant ``params`` present, with its user (once approved) and client, in one query."""
    return by_digest(_grant_record, params.get("device_code"))


def exchange(
    params: Params, client: Client, presented: Presented, *, site: Site, ip: str, jkt: str | None = None
) -> tokens.Issued:
    """
    Answer a device's poll (§3.5): ``authorization_pending`` while the person has not decided,
    ``slow_down`` when the device polls sooner than its interval, ``access_denied`` once the
    person denied, ``expired_token`` once the code expired, and tokens once it was approved.

    The device code must be this client's. It is redeemed once: one conditional UPDATE spends
    it in the write that issues the tokens, so one of two concurrent polls wins. A device code
    that comes back after it was redeemed ends what it issued, as a replayed authorization code
    does (RFC 6749 §4.1.2): the device holds its tokens, and whoever presents the code again
    either is not that device or has lost track of them.
    """
    if not client.can_use_grant(DEVICE_CODE_GRANT):
        raise UnauthorizedClient("This client is not registered for the device authorization grant.")
    if params.get("device_code") is None:
        raise InvalidRequest("device_code is required.")
    grant = presented.record
    if grant is None or grant.client_id != client.pk:
        raise InvalidGrant("The device code is invalid.")
    now = timezone.now()
    if grant.used_at is not None:
        _replayed(grant)
    if grant.denied_at is not None:
        raise DeviceAccessDenied("The user denied the request.")
    if grant.expires_at <= now:
        raise ExpiredToken("The device code has expired; start again.")
    if grant.approved_at is None:
        device_polling.pace(grant, now)
        raise AuthorizationPending("The user has not approved the request yet.")
    if not grant.user.is_active:
        raise InvalidGrant("The user is no longer active.")
    audience = resources.narrowed(site, params.resources, grant.resource)

    issued = tokens.token_response(
        issuer=site.issuer,
        jkt=jkt,
        client=client,
        user=grant.user,
        scopes=grant.scope.split(),
        audience=audience,
        family=writes.Row(
            TokenFamily,
            {
                "client_id": client.pk,
                "user_id": grant.user_id,
                "scope": grant.scope,
                "resource": grant.resource or audience,
                "device_grant_id": grant.pk,
                "created_at": now,
            },
        ),
        refresh=client.can_use_grant("refresh_token"),
        now=now,
        # Spent only while approved and unexpired: a grant ended since it was read (the user
        # revoked the app, or was deactivated) has expired and issues nothing.
        spend=writes.Spend(DeviceGrant, grant.pk, now, unexpired=True, still_set=("approved_at",)),
    )
    if issued is not None:
        return issued
    if DeviceGrant.objects.filter(pk=grant.pk, used_at__isnull=True).exists():
        raise ExpiredToken("The device code has expired; start again.")
    _replayed(grant)


def _replayed(grant: DeviceGrant) -> None:
    for family_id in TokenFamily.objects.filter(device_grant=grant).values_list("pk", flat=True):
        tokens.revoke_family(family_id)
    raise InvalidGrant("The device code was already used; the tokens it issued are revoked.")
