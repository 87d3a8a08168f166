"""
Deleting what the server no longer needs: expired codes, device grants and tokens, grants with
no token left, and dynamically registered clients that nobody ever authorized.

Rows go in small batches, each in its own short transaction, walking the primary key: the
server keeps issuing and refreshing tokens meanwhile, no lock is held for long, and memory stays
the size of one batch however many rows there are. Tokens lie along the key in the order they
were issued, the expired ones first, so the walk finds them without an index on ``expires_at``,
which the token tables do not have: it would be a page more written with every token. Every
delete repeats its condition, so a row that changed since it was looked at (a registration
authorized a moment ago) is left alone.

On SQLite a writer locks the whole database, and a request waiting for that lock only polls for
it now and then, at growing intervals (SQLite's busy handler sleeps 1, 2, 5, 10, … 100 ms):
back-to-back batches would leave it no gap to take. So there, by default, cleanup rests after
each batch twice as long as the batch held the lock (``SQLITE_REST_FACTOR``): the server has
the database two thirds of the time, and a request that began to wait during a batch wakes
within the rest. Resting only as long as the batch took left token requests at 38 % of their
usual rate on ``make bench``'s two-core machine; twice as long, the figure in the README.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from twenty_oauth.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Consent,
    DeviceGrant,
    RefreshToken,
    TokenFamily,
)

#: Rows are deleted this long after they expire: a request that read one just before it expired
#: finishes against the row rather than against a hole, and servers' clocks may differ a little.
GRACE = timedelta(minutes=5)

DEFAULT_BATCH_SIZE = 500

#: On SQLite, the rest after a batch, as a multiple of the time the batch held the write lock.
SQLITE_REST_FACTOR = 2
DEFAULT_UNUSED_CLIENT_DAYS = 30


@dataclass(frozen=True)
class Target:
    """One kind of row to delete: what to call it and which rows qualify."""

    label: str
    queryset: QuerySet

    @property
    def model_label(self) -> str:
        return self.queryset.model._meta.label


def targets(
    now: datetime | None = None, unused_client_days: int = DEFAULT_UNUSED_CLIENT_DAYS
) -> list[Target]:
    """
    Everything cleanup deletes, in the order it is deleted. ``unused_client_days=0`` keeps
    unused registrations.

    - authorization codes past their expiry;
    - device grants (RFC 8628) past their expiry, redeemed or not: the tokens a redeemed one
      issued live on in their grant;
    - grants (token families) with no token left that has not expired: they are deleted with
      their tokens in one pass, which is most of the rows on a busy server;
    - access and refresh tokens past their expiry in grants that live on (a spent refresh
      token is kept until it expires: reuse detection needs it, RFC 9700 §4.14.2);
    - clients that registered themselves (RFC 7591) more than ``unused_client_days`` ago and
      were never used: no consent, no grant, no code or device grant, never authenticated at the
      token endpoint.

    Each queryset counts exactly what its pass deletes, cascades included, so a dry run's
    counts are the real run's.
    """
    now = now or timezone.now()
    cutoff = now - GRACE
    live_refresh = RefreshToken.objects.filter(family=OuterRef("pk"), expires_at__gte=cutoff)
    live_access = AccessToken.objects.filter(family=OuterRef("pk"), expires_at__gte=cutoff)
    found = [
        Target("expired authorization codes", AuthorizationCode.objects.filter(expires_at__lt=cutoff)),
        Target("expired device grants", DeviceGrant.objects.filter(expires_at__lt=cutoff)),
        Target(
            "ended grants",
            TokenFamily.objects.filter(created_at__lt=cutoff)
            .exclude(Exists(live_refresh))
            .exclude(Exists(live_access)),
        ),
        Target("expired access tokens", AccessToken.objects.filter(expires_at__lt=cutoff)),
        Target("expired refresh tokens", RefreshToken.objects.filter(expires_at__lt=cutoff)),
    ]
    if unused_client_days > 0:
        found.append(
            Target(
                "unused registrations",
                Client.objects.filter(
                    source=Client.Source.DYNAMIC,
                    created_at__lt=now - timedelta(days=unused_client_days),
                    last_used_at__isnull=True,
                )
                .exclude(Exists(Consent.objects.filter(client=OuterRef("pk"))))
                .exclude(Exists(TokenFamily.objects.filter(client=OuterRef("pk"))))
                .exclude(Exists(AuthorizationCode.objects.filter(client=OuterRef("pk"))))
                .exclude(Exists(DeviceGrant.objects.filter(client=OuterRef("pk")))),
            )
        )
    return found


def locks_whole_database(using: str) -> bool:
    """Whether a write to the database ``using`` stops every other writer (SQLite)."""
    return connections[using].vendor == "sqlite"


def delete_in_batches(
    queryset: QuerySet, batch_size: int = DEFAULT_BATCH_SIZE, pause: float | None = None
) -> Iterator[dict[str, int]]:
    """
    Delete the rows of ``queryset``, at most ``batch_size`` per transaction, and yield what each
    batch deleted by model label (``QuerySet.delete``'s count, cascades included). The walk is
    keyset pagination on the primary key: each batch starts after the last key of the one
    before, so no batch rescans rows an earlier one removed, and at most one batch of keys is
    held at a time.

    ``pause`` is how many seconds to rest after each batch but the last, so that requests
    waiting to write get their turn. ``None`` rests ``SQLITE_REST_FACTOR`` times as long as the
    batch's transaction took where one writer locks the whole database (SQLite), and not at all
    elsewhere.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if pause is not None and pause < 0:
        raise ValueError("pause must not be negative")
    using = router.db_for_write(queryset.model)
    rest_by_hold = pause is None and locks_whole_database(using)
    ordered = queryset.order_by("pk")
    after = None
    while True:
        remaining = ordered if after is None else ordered.filter(pk__gt=after)
        keys = list(remaining.values_list("pk", flat=True)[:batch_size])
        if not keys:
            return
        started = time.monotonic()
        with transaction.atomic(using=using):
            # The condition is repeated: a row that no longer qualifies stays. Only the key is
            # loaded for a cascade: nothing here listens to delete signals.
            _, per_model = remaining.filter(pk__lte=keys[-1]).only("pk").delete()
        held = time.monotonic() - started
        yield per_model
        if len(keys) < batch_size:
            return
        after = keys[-1]
        rest = held * SQLITE_REST_FACTOR if rest_by_hold else (pause or 0.0)
        if rest:
            time.sleep(rest)
