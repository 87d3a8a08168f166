"""
Subject identifiers (OpenID Connect Core §2, §8.1): the ``sub`` of a user in ID tokens and at
UserInfo.

A ``sub`` is a random value assigned the first time a user signs in to a relying party and kept
in the ``Subject`` table: locally unique, never reassigned, and not the database id in clear. It
depends on neither ``SECRET_KEY`` nor the primary key, so it survives a key rotation and a move
to another database, as long as that table moves with the users.
"""

from __future__ import annotations

import secrets
from typing import Any

from twenty_oauth.models import Subject

#: 192 bits, 32 URL-safe characters: no two users draw the same one in practice, and the
#: unique constraint refuses it if they ever did.
SUBJECT_BYTES = 24


def subject_of(user: Any) -> str:
    """The ``sub`` of ``user``, created on first need (one query when it exists)."""
    found = Subject.objects.filter(user=user).values_list("sub", flat=True).first()
    if found is not None:
        return found
    subject, _ = Subject.objects.get_or_create(
        user=user, defaults={"sub": secrets.token_urlsafe(SUBJECT_BYTES)}
    )
    return subject.sub
