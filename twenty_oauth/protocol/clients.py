"""
A client's life: creation from validated metadata (``client_metadata.ClientMetadataSerializer``),
its secret's issue and rotation, the client-credentials permission, deactivation, and the end
of its grants. Used by dynamic registration, the Django admin and the commands alike.

A dynamically registered client also manages itself (RFC 7592): it holds a registration access
token, stored as a digest like a secret, with which it reads, updates and deletes its own
registration at its client configuration endpoint.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import AccessToken, AuthorizationCode, Client, Consent, TokenFamily
from twenty_oauth.protocol import consents, opaque, tokens
from twenty_oauth.protocol.client_metadata import METADATA_FIELDS

#: Clients that made themselves: they need an administrator's leave for client credentials.
SELF_REGISTERED = (Client.Source.DYNAMIC, Client.Source.METADATA_DOCUMENT)
#: What ``client_updated`` reports as changed: the metadata and what staff decide.
AUDITED_FIELDS = (*METADATA_FIELDS, "client_credentials_allowed", "introspection_allowed", "is_active")
#: Why ``introspection_allowed`` cannot be set on a public client: introspection needs a
#: confidential one (RFC 7662 §2.1).
PUBLIC_CANNOT_INTROSPECT = "Only a confidential client may introspect; a public client (none) cannot."


def _new_client(fields: dict[str, Any], source: str) -> tuple[Client, str | None]:
    """A new client and its secret, if it uses one: a public or ``private_key_jwt`` client has none."""
    client = Client(client_id=opaque.generate_client_id(), source=source, **fields)
    secret = None
    if client.uses_secret:
        secret = opaque.generate_secret()
        client.client_secret_digest = opaque.digest(secret)
        client.client_secret_expires_at = secret_expiry(client)
    return client, secret


def create_client(fields: dict[str, Any], *, source: str) -> tuple[Client, str | None]:
    """Create a client from validated fields. Returns it and its secret, which is never stored."""
    client, secret = _new_client(fields, source)
    client.save()
    return client, secret


def register_client(fields: dict[str, Any]) -> tuple[Client, str | None, str]:
    """
    Create a dynamically registered client from validated fields (RFC 7591 §3.2.1). Returns it,
    its secret and its registration access token (RFC 7592 §3), both stored only as digests.
    """
    client, secret = _new_client(fields, Client.Source.DYNAMIC)
    token = opaque.generate_secret()
    client.registration_access_token_digest = opaque.digest(token)
    client.save()
    return client, secret, token


def find_by_registration_token(token: str | None) -> Client | None:
    """
    The active client whose registration access token ``token`` is (RFC 7592 §3), found by the
    token's digest as secrets are: nothing is compared character by character.
    """
    if not token:
        return None
    try:
        return Client.objects.get(registration_access_token_digest=opaque.digest(token), is_active=True)
    except Client.DoesNotExist:
        return None


@dataclass(frozen=True)
class Updated:
    """The outcome of an update: the client as saved, what changed, and what was issued."""

    client: Client
    registration_access_token: str
    secret: str | None
    fields: list[str]


def update_client(client: Client, fields: dict[str, Any], *, ip: str) -> Updated | None:
    """
    Replace the metadata of ``client``, found by its registration access token, with validated
    ``fields`` (RFC 7592 §2.2), and rotate that token: the one presented stops working and the
    answer carries its successor, this once. A confidential client whose secret has expired
    gets a new one too. What the change ends (codes for a redirect URI that changed, client
    credentials) ends with it, in the same transaction.

    None when the token presented was spent meanwhile, by a concurrent update or deletion: one
    conditional UPDATE decides, so of two updates with the same token exactly one wins.
    """
    before, after = copy.copy(client), copy.copy(client)
    for name, value in fields.items():
        setattr(after, name, value)
    token = opaque.generate_secret()
    values = {**fields, "registration_access_token_digest": opaque.digest(token)}
    secret = None
    expires = after.client_secret_expires_at
    if after.uses_secret and expires is not None and expires <= timezone.now():
        secret = opaque.generate_secret()
        values["client_secret_digest"] = opaque.digest(secret)
        values["client_secret_expires_at"] = secret_expiry(after)
    with transaction.atomic():
        won = _holding_token(client).update(**values)
        if not won:
            return None
        for name, value in values.items():
            setattr(after, name, value)
        names = changed(before, after, ip=ip)
    return Updated(client=after, registration_access_token=token, secret=secret, fields=names)


def delete_client(client: Client, *, ip: str) -> bool:
    """
    End ``client``, found by its registration access token (RFC 7592 §2.3): it is deactivated,
    its secret and registration access token are erased, and every grant it held ends at once:
    consents, unredeemed codes, refresh and access tokens. The row stays, inactive, as the
    record of what the client was. False when the token presented was spent meanwhile.
    """
    with transaction.atomic():
        won = _holding_token(client).update(
            is_active=False, client_secret_digest="", registration_access_token_digest=""
        )
        if not won:
            return False
        Consent.objects.filter(client=client, revoked_at__isnull=True).update(revoked_at=timezone.now())
        end_grants([client.pk], ip=ip)
    client.is_active, client.client_secret_digest, client.registration_access_token_digest = False, "", ""
    signals.client_deleted.send(sender=Client, client=client, ip=ip)
    return True


def _holding_token(client: Client) -> QuerySet[Client]:
    """The client's row, as long as it is active and still holds the token it was found by."""
    return Client.objects.filter(
        pk=client.pk, is_active=True, registration_access_token_digest=client.registration_access_token_digest
    ).exclude(registration_access_token_digest="")


def revoke_registration_tokens(client_ids: list[int]) -> int:
    """
    Take the registration access token from these clients: they can no longer read, update or
    delete their registration (RFC 7592); staff still can. Returns how many held one.
    """
    holders = Client.objects.filter(pk__in=client_ids).exclude(registration_access_token_digest="")
    return holders.update(registration_access_token_digest="")


def secret_expiry(client: Client) -> datetime | None:
    """
    When a secret issued now expires (RFC 7591 §3.2.1 ``client_secret_expires_at``):
    ``CLIENT_SECRET_LIFETIME`` after issue for a dynamically registered client, else never.
    """
    lifetime = oauth_settings.CLIENT_SECRET_LIFETIME
    if lifetime and client.source == Client.Source.DYNAMIC:
        return timezone.now() + timedelta(seconds=lifetime)
    return None


def rotate_secret(client: Client) -> str:
    """
    Give a client that authenticates with a secret a new one; the old one stops working at
    once. The new secret has its own lifetime: a client whose secret expired is brought back
    this way.
    """
    secret = opaque.generate_secret()
    client.client_secret_digest = opaque.digest(secret)
    client.client_secret_expires_at = secret_expiry(client)
    client.save(update_fields=["client_secret_digest", "client_secret_expires_at"])
    return secret


def end_grants(client_ids: list[int], *, ip: str) -> int:
    """
    End every grant of these clients: consents, unredeemed codes, and every token, at once
    (RFC 7009 §2.1 for what revocation ends). Returns how many grants were ended.
    """
    selected = Client.objects.filter(pk__in=client_ids)
    count = consents.end_grants(clients=selected)
    for client in selected:
        signals.token_revoked.send(sender=Client, client=client, user=None, token_type="all", ip=ip)
    return count


def end_own_grants(client_ids: list[int]) -> int:
    """
    Revoke the grants these clients hold for themselves (client credentials, no user): once
    the clients may no longer use the grant, the tokens that rested on that permission end too.
    Such a token has no family; one issued by an earlier version may have one of its own.
    """
    with transaction.atomic():
        own = tokens.revoke_own_tokens(AccessToken.objects.filter(client_id__in=client_ids))
        return own + tokens.revoke_families(
            TokenFamily.objects.filter(client_id__in=client_ids, user__isnull=True)
        )


def deactivate(client_ids: list[int], *, ip: str) -> int:
    """Deactivate these clients and end their grants; returns how many were deactivated."""
    count = Client.objects.filter(pk__in=client_ids).update(is_active=False)
    end_grants(client_ids, ip=ip)
    return count


def allow_client_credentials(client_ids: list[int]) -> list[Client]:
    """
    Let these self-registered confidential clients use client credentials (see DESIGN: open
    registration never hands out a userless token by itself). Returns the clients allowed;
    public clients never may, and staff-made clients need no permission.
    """
    eligible = Client.objects.filter(pk__in=client_ids, source__in=SELF_REGISTERED).exclude(
        token_endpoint_auth_method=Client.AuthMethod.NONE
    )
    allowed = list(eligible)
    eligible.update(client_credentials_allowed=True)
    return allowed


def forbid_client_credentials(client_ids: list[int]) -> tuple[int, int]:
    """
    Take client credentials back from these self-registered clients and end the tokens they
    hold for themselves. Returns how many clients changed and how many grants ended.
    """
    ids = list(
        Client.objects.filter(pk__in=client_ids, source__in=SELF_REGISTERED).values_list("pk", flat=True)
    )
    count = Client.objects.filter(pk__in=ids).update(client_credentials_allowed=False)
    return count, end_own_grants(ids)


def end_codes(client_ids: list[int]) -> int:
    """Expire the codes these clients have not redeemed yet; returns how many there were."""
    return consents.expire_codes(AuthorizationCode.objects.filter(client_id__in=client_ids))


def changed_fields(before: Client, after: Client) -> list[str]:
    """The names of the metadata and permissions that differ between two states of a client."""
    return [name for name in AUDITED_FIELDS if getattr(before, name) != getattr(after, name)]


def changed(before: Client | None, after: Client, *, ip: str) -> list[str]:
    """
    What a change to a client's row ends: deactivated, or made public (its refresh tokens would
    be spent with no secret), every grant; client credentials taken away, its own grants; its
    redirect URIs changed, the codes issued for the old ones (a code is redeemed against the URI
    it was issued for, not against the client's current ones). Then ``client_updated`` says what
    changed, or ``client_registered`` that it is new. Returns the names of the fields changed.
    """
    if before is None:
        signals.client_registered.send(sender=Client, client=after, ip=ip)
        return []
    if (before.is_active and not after.is_active) or (not before.is_public and after.is_public):
        end_grants([after.pk], ip=ip)
    elif before.may_use_client_credentials and not after.may_use_client_credentials:
        end_own_grants([after.pk])
    if set(before.redirect_uris) != set(after.redirect_uris):
        end_codes([after.pk])
    fields = changed_fields(before, after)
    if fields:
        signals.client_updated.send(sender=Client, client=after, fields=fields, ip=ip)
    return fields
