"""
A client's life: creation from validated metadata (``client_metadata.ClientMetadataSerializer``),
its secret's issue and rotation, the client-credentials permission, deactivation, and the end
of its grants. Used by dynamic registration, the Django admin and the commands alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import Client, TokenFamily
from twenty_oauth.protocol import consents, opaque, tokens

#: Clients that made themselves: they need an administrator's leave for client credentials.
SELF_REGISTERED = (Client.Source.DYNAMIC, Client.Source.METADATA_DOCUMENT)


def create_client(fields: dict[str, Any], *, source: str) -> tuple[Client, str | None]:
    """
    Create a client from validated fields. Returns it and its secret, which is never stored;
    a public or ``private_key_jwt`` client has none.
    """
    client = Client(client_id=opaque.generate_client_id(), source=source, **fields)
    secret = None
    if client.uses_secret:
        secret = opaque.generate_secret()
        client.client_secret_digest = opaque.digest(secret)
        client.client_secret_expires_at = secret_expiry(client)
    client.save()
    return client, secret


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
    """
    return tokens.revoke_families(TokenFamily.objects.filter(client_id__in=client_ids, user__isnull=True))


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


def changed(before: Client | None, after: Client, *, ip: str) -> None:
    """
    What a change to a client's row ends: deactivated, or made public (its refresh tokens would
    be spent with no secret), every grant; client credentials taken away, its own grants.
    """
    if before is None:
        signals.client_registered.send(sender=Client, client=after, ip=ip)
    elif (before.is_active and not after.is_active) or (not before.is_public and after.is_public):
        end_grants([after.pk], ip=ip)
    elif before.may_use_client_credentials and not after.may_use_client_credentials:
        end_own_grants([after.pk])
