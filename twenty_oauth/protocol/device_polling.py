"""
How often a device may poll the token endpoint (RFC 8628 §3.5): once per interval. A poll that
comes sooner is answered ``slow_down``, and the interval of that device code grows by 5 seconds
"for this and all subsequent requests".

The time of the last poll and the interval are kept in the cache (``RATE_LIMIT_CACHE``), not on
the device grant's row. A device polls every few seconds for minutes while its person finds the
page; a write per pending poll would take SQLite's database-wide write lock, or leave a dead
row version and a WAL record on PostgreSQL, each time, for a value no other request needs. A
pending poll therefore only reads the database. The cache is the one the rate limits share
across workers (Redis, Memcached; a process-local one paces each worker on its own, which
``twenty_oauth.W004`` warns about). Reading and writing the entry are two steps: two polls of
one device code at the very same moment may both be answered ``authorization_pending``, which
costs the server what a ``slow_down`` costs. When the cache cannot be reached, polls are not
paced rather than refused.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import caches

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import SlowDown
from twenty_oauth.models import DeviceGrant

logger = logging.getLogger("twenty_oauth")

#: RFC 8628 §3.5: what each poll that comes too soon adds to the interval.
SLOW_DOWN_SECONDS = 5
#: How long an entry outlives its device code, so that a late poll still finds it.
KEEP_SECONDS = 60


def _key(grant: DeviceGrant) -> str:
    # The device code's digest, as the row holds it: unique for good, unlike a row number.
    return f"twenty_oauth:device_poll:{grant.device_code_digest}"


def pace(grant: DeviceGrant, now: datetime) -> int:
    """
    Count a poll of ``grant``, still pending, at ``now``. Returns the interval the device must
    now keep; raises :class:`SlowDown` when the poll came sooner than that after the previous
    one. The first poll is never too soon.
    """
    key = _key(grant)
    cache = caches[oauth_settings.RATE_LIMIT_CACHE]
    moment = now.timestamp()
    try:
        last, interval = cache.get(key) or (None, grant.interval)
        too_soon = last is not None and moment - last < interval
        if too_soon:
            interval += SLOW_DOWN_SECONDS
        remaining = max(1, int((grant.expires_at - now).total_seconds()))
        cache.set(key, (moment, interval), remaining + KEEP_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        logger.error("device polling cache unavailable, polls not paced: %s", type(exc).__name__)
        return grant.interval
    if too_soon:
        raise SlowDown(f"Poll at most once every {interval} seconds.")
    return interval
