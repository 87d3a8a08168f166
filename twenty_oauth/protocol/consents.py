"""
A user's authorizations, as the user and the site's staff see them: which applications hold
a consent, when they last received a token, and ending a grant at once.

Ending a grant means three things, in one transaction: the consent is marked revoked (the next
authorization asks again), every token family of that user and client is revoked (refresh and
access tokens stop working, RFC 7009 §2.1), and any code or device grant not yet redeemed
expires, so that one issued or approved a moment before the revocation cannot start a new family
afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from twenty_oauth.models import AccessToken, AuthorizationCode, Client, Consent, DeviceGrant, TokenFamily
from twenty_oauth.protocol import scopes, tokens


@dataclass(frozen=True)
class AuthorizedApp:
    """One application a user has authorized, with what it may do and when it last got a token."""

    consent: Consent
    scopes: list[tuple[str, str]]
    last_used_at: datetime | None

    @property
    def client(self) -> Client:
        return self.consent.client


def authorized_apps(user: Any) -> list[AuthorizedApp]:
    """
    The user's live consents to active clients, by name. "Last used" is when the client last
    received an access token for this user: each refresh issues one, so it tracks real use
    without a write on every API call.
    """
    last_token = (
        AccessToken.objects.filter(client=OuterRef("client"), user=OuterRef("user"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    consents = (
        Consent.objects.filter(user=user, revoked_at__isnull=True, client__is_active=True)
        .select_related("client")
        .annotate(last_used_at=Subquery(last_token))
        .order_by("client__client_name", "client__client_id")
    )
    known = scopes.registry()
    return [
        AuthorizedApp(
            consent=consent,
            scopes=[(name, known.get(name, name)) for name in consent.scope.split()],
            last_used_at=consent.last_used_at,
        )
        for consent in consents
    ]


def end_grants(*, clients: QuerySet[Client] | None = None, client=None, user=None) -> int:
    """
    Revoke every token family and every client-credentials token (a grant by itself, in no
    family), and expire every pending code and unredeemed device grant, matching ``clients``
    (or ``client``) and ``user``. Returns how many grants were revoked. A client-credentials
    token and a device grant no one approved yet have no user: only ``clients`` and ``client``
    end them.
    """
    selected = [
        TokenFamily.objects.all(),
        AccessToken.objects.all(),  # revoke_own_tokens takes those in no family
        AuthorizationCode.objects.filter(used_at__isnull=True),
        DeviceGrant.objects.filter(used_at__isnull=True),
    ]
    if clients is not None:
        client_ids = list(clients.values_list("pk", flat=True))
        selected = [rows.filter(client_id__in=client_ids) for rows in selected]
    if client is not None:
        selected = [rows.filter(client=client) for rows in selected]
    if user is not None:
        selected = [rows.filter(user=user) for rows in selected]
    families, own, codes, device_grants = selected
    with transaction.atomic():
        expire_codes(codes)
        expire_codes(device_grants)
        return tokens.revoke_families(families) + tokens.revoke_own_tokens(own)


def expire_codes(codes: QuerySet) -> int:
    """
    Expire the unredeemed authorization codes or device grants among ``codes`` at once; returns
    how many there were.
    """
    # Expired as of their own issue, not of now: a redemption that began a moment before this
    # compares with its own, earlier, now, and must find them expired too.
    pending = codes.filter(used_at__isnull=True, expires_at__gt=timezone.now())
    return pending.update(expires_at=F("created_at"))


def holds(user: Any, client: Client, scopes: list[str]) -> bool:
    """Whether ``user`` allowed ``client`` every one of ``scopes``, and has not withdrawn it."""
    held = (
        Consent.objects.filter(user=user, client=client, revoked_at__isnull=True)
        .values_list("scope", flat=True)
        .first()
    )
    return held is not None and set(scopes) <= set(held.split())


def revoke_consent(user: Any, client: Client) -> bool:
    """
    End a user's authorization of a client: the consent and all that came from it. Returns
    whether there was a live consent to revoke; the grants are ended in any case.
    """
    with transaction.atomic():
        revoked = Consent.objects.filter(user=user, client=client, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        end_grants(client=client, user=user)
    return bool(revoked)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="twenty_oauth.inactive_user")
def _end_grants_of_inactive_user(sender, instance, update_fields=None, **kwargs) -> None:
    """A deactivated account ends every grant of its user, for good (see the README)."""
    if getattr(instance, "is_active", True) or (
        update_fields is not None and "is_active" not in update_fields
    ):
        return
    end_grants(user=instance)
