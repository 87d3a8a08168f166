"""
The device authorization grant's first steps (RFC 8628 §3.1-§3.3): a device asks for a device
code and a user code; a person, signed in on another screen, types the user code, sees what the
device asks for, and approves or denies it. The device's polling and the tokens it gets are in
:mod:`twenty_oauth.protocol.grants.device_code`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidUserCode, UnauthorizedClient
from twenty_oauth.models import Client, DeviceGrant
from twenty_oauth.protocol import authorization, opaque, ratelimit, resources, scopes
from twenty_oauth.protocol.discovery import DEVICE_CODE_GRANT, Site
from twenty_oauth.protocol.parameters import Params

#: RFC 8628 §6.1: twenty consonants, no vowels (no words) and no digits (nothing to mistake for
#: a letter); 20^8 codes, about 34.6 bits.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
#: Characters a person may type between the letters: the dash the code is shown with, spaces.
USER_CODE_SEPARATORS = "- "

#: A new grant whose user code (or device code) is taken draws again, at most this many times.
DRAWS = 5
SIGNING_SALT = "twenty_oauth.device"
#: The rate-limit buckets of wrong user codes: one per user, one per client address (§5.1).
GUESSES_PER_USER = "user_code:user"
GUESSES_PER_ADDRESS = "user_code:ip"


def generate_user_code() -> str:
    """Eight letters of :data:`USER_CODE_ALPHABET` from :mod:`secrets` (RFC 8628 §6.1)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    """``BCDFGHJK`` as a person reads it: ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(typed: str) -> str | None:
    """
    The user code a person typed, as stored: upper case, without the dash or spaces (RFC 8628
    §6.1: case-insensitive, the dash optional). None when it cannot be a user code at all.
    """
    if not typed.isascii():
        return None
    letters = "".join(char for char in typed.strip() if char not in USER_CODE_SEPARATORS).upper()
    if len(letters) != USER_CODE_LENGTH or any(char not in USER_CODE_ALPHABET for char in letters):
        return None
    return letters


def start(params: Params, client: Client, *, site: Site) -> dict[str, Any]:
    """
    A device authorization request (RFC 8628 §3.1) from an authenticated ``client``, and its
    response (§3.2). Scopes and resource indicators are checked as for an authorization request
    (RFC 6749 §3.3, RFC 8707 §2): an unknown scope is ``invalid_scope``, a resource this server
    does not serve ``invalid_target``.
    """
    if not client.can_use_grant(DEVICE_CODE_GRANT):
        raise UnauthorizedClient("This client is not registered for the device authorization grant.")
    granted = scopes.for_authorization(client, params.get("scope"))
    audience = resources.requested(site, params.resources) if params.resources else []
    now = timezone.now()
    lifetime = oauth_settings.DEVICE_CODE_LIFETIME
    interval = oauth_settings.DEVICE_CODE_INTERVAL
    for draw in range(DRAWS):
        device_code, user_code = opaque.generate_secret(), generate_user_code()
        try:
            with transaction.atomic():
                DeviceGrant.objects.create(
                    device_code_digest=opaque.digest(device_code),
                    user_code_digest=opaque.digest(user_code),
                    client=client,
                    scope=" ".join(granted),
                    resource=audience,
                    interval=interval,
                    created_at=now,
                    expires_at=now + timedelta(seconds=lifetime),
                )
            break
        except IntegrityError:
            if draw == DRAWS - 1:
                raise
    shown = display_user_code(user_code)
    verification_uri = site.endpoint("device")
    return {
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": verification_uri,
        # §3.3.1: the person still confirms the code it carries (§5.4).
        "verification_uri_complete": f"{verification_uri}?{urlencode({'user_code': shown})}",
        "expires_in": lifetime,
        "interval": interval,
    }


def is_pending(grant: DeviceGrant, now=None) -> bool:
    """Neither approved, denied nor redeemed, and not expired."""
    now = now or timezone.now()
    return (
        grant.approved_at is None
        and grant.denied_at is None
        and grant.used_at is None
        and grant.expires_at > now
    )


def find_pending(typed: str, *, user_key: str, ip: str) -> DeviceGrant:
    """
    The pending device grant whose user code a person typed (RFC 8628 §3.3), with its client.
    Raises :class:`InvalidUserCode` when there is none, or ``TooManyRequests`` once this user or
    this address has typed ``USER_CODE_FAILURE_LIMIT`` wrong codes (§5.1: the code is short
    enough to guess, so guesses are what is limited). Input that cannot be a code at all is not
    a guess and is not counted.
    """
    rate = oauth_settings.USER_CODE_FAILURE_LIMIT
    guessers = ((GUESSES_PER_USER, user_key), (GUESSES_PER_ADDRESS, ip))
    for bucket, ident in guessers:
        ratelimit.check(bucket, ident, rate)
    code = normalize_user_code(typed)
    if code is None:
        raise InvalidUserCode("A user code has 8 letters, such as BCDF-GHJK.", malformed=True)
    grant = DeviceGrant.objects.select_related("client").filter(user_code_digest=opaque.digest(code)).first()
    if grant is None or not is_pending(grant) or not grant.client.is_active:
        for bucket, ident in guessers:
            ratelimit.hit(bucket, ident, rate)
        raise InvalidUserCode("This code is not valid, or it has expired or been used.")
    return grant


def sign_grant(grant: DeviceGrant, user: Any) -> str:
    """Bind the approval form to the grant the person confirmed and to the person."""
    return signing.dumps(grant.pk, salt=f"{SIGNING_SALT}:{user.pk}")


def unsign_grant(value: str, user: Any) -> int:
    """The grant the approval form was shown for; raises ``signing.BadSignature``."""
    pk = signing.loads(value, salt=f"{SIGNING_SALT}:{user.pk}", max_age=oauth_settings.DEVICE_CODE_LIFETIME)
    if not isinstance(pk, int):
        raise signing.BadSignature("not a grant")
    return pk


def decide(grant_pk: int, user: Any, *, approved: bool) -> DeviceGrant | None:
    """
    Record the person's decision on a grant still pending: one conditional UPDATE, so that a
    grant is decided once, by one person, and never once expired. An approval records the
    consent, as the consent page does (the authorized-apps page lists it). Returns the grant, or
    None when it was no longer pending.
    """
    now = timezone.now()
    decision = {"user": user, "approved_at" if approved else "denied_at": now}
    with transaction.atomic():
        pending = DeviceGrant.objects.filter(
            pk=grant_pk,
            approved_at__isnull=True,
            denied_at__isnull=True,
            used_at__isnull=True,
            expires_at__gt=now,
        )
        if not pending.update(**decision):
            return None
        grant = DeviceGrant.objects.select_related("client").get(pk=grant_pk)
        if approved:
            authorization.record_consent(grant.client, user, grant.scope.split())
    return grant
