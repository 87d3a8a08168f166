"""
A client's life: creation from validated metadata (``serializers.ClientMetadataSerializer``),
its secret's issue and rotation. Used by dynamic registration, Django admin and
``oauth_create_client`` alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import Client
from twenty_oauth.protocol import opaque


def create_client(fields: dict[str, Any], *, source: str) -> tuple[Client, str | None]:
    """Create a client from validated fields. Returns it and its secret, which is never stored."""
    client = Client(client_id=opaque.generate_client_id(), source=source, **fields)
    secret = None
    if not client.is_public:
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
    Give a confidential client a new secret; the old one stops working at once. The new secret
    has its own lifetime: a client whose secret expired is brought back this way.
    """
    secret = opaque.generate_secret()
    client.client_secret_digest = opaque.digest(secret)
    client.client_secret_expires_at = secret_expiry(client)
    client.save(update_fields=["client_secret_digest", "client_secret_expires_at"])
    return secret
