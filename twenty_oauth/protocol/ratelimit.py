"""
Fixed-window rate limits in Django's cache: per process with the local-memory cache, across
workers with Redis or Memcached (a deploy check warns about the former).

Four limits use it: registrations per client IP at ``/oauth/register``; failed client
authentications per ``client_id`` and client IP at the token, revocation and introspection
endpoints; requests per client IP that would fetch a client metadata document — these three
answered 429 with ``Retry-After`` (RFC 6585 §4) — and fetches of metadata documents per host
(``twenty_oauth.protocol.metadata_documents``), past which the client is refused. When the cache
cannot be reached the limit is not applied and the ``twenty_oauth`` logger says so: an outage of
the counter store must not take the token endpoint down with it.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import TooManyRequests
from twenty_oauth.protocol import opaque

logger = logging.getLogger("twenty_oauth")

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/m"`` → (20, 60). Raises ValueError for anything else."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or period not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate like '20/m' (periods: s, m, h, d).")
    return int(count), PERIODS[period]


def _key(bucket: str, ident: str, window: int) -> tuple[str, int]:
    """The counter's cache key for the current window, and the seconds left in that window."""
    now = int(time.time())
    start = now - now % window
    # Digest the identifier: a cache key must be short and must not contain a client's input.
    return f"twenty_oauth:rl:{bucket}:{opaque.digest(ident)[:32]}:{start}", start + window - now


def unavailable(exc: Exception) -> None:
    logger.error("rate-limit cache unavailable, limit not applied: %s", type(exc).__name__)


def check(bucket: str, ident: str, rate: str | None) -> None:
    """Raise ``TooManyRequests`` when the current window is already full."""
    if not rate:
        return
    limit, window = parse_rate(rate)
    key, remaining = _key(bucket, ident, window)
    try:
        count = caches[oauth_settings.RATE_LIMIT_CACHE].get(key) or 0
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        unavailable(exc)
        return
    if count >= limit:
        raise TooManyRequests(remaining)


def hit(bucket: str, ident: str, rate: str | None) -> int:
    """Count one event in the current window; return the window's count (0 if not counted)."""
    if not rate:
        return 0
    _, window = parse_rate(rate)
    key, _ = _key(bucket, ident, window)
    cache = caches[oauth_settings.RATE_LIMIT_CACHE]
    try:
        # add() and incr() are atomic in Redis and Memcached: concurrent workers never lose a count.
        if cache.add(key, 1, window + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # the key expired between add() and incr()
            cache.set(key, 1, window + 1)
            return 1
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        unavailable(exc)
        return 0


def spend(bucket: str, ident: str, rate: str | None, description: str = "Too many requests.") -> None:
    """Count one event; raise ``TooManyRequests`` when the window then holds more than ``rate`` allows."""
    if not rate:
        return
    limit, window = parse_rate(rate)
    if hit(bucket, ident, rate) > limit:
        raise TooManyRequests(_key(bucket, ident, window)[1], description)
