"""
Fixed-window rate limits in Django's cache: per process with the local-memory cache, across
workers with Redis or Memcached (a deploy check warns about the former).
"""

from __future__ import annotations

import time

from django.core.cache import caches

from twenty_oauth import secrets
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import TooManyRequests

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/m"`` → (20, 60). Raises ValueError for anything else."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or period not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate like '20/m' (periods: s, m, h, d).")
    return int(count), PERIODS[period]


def _key(bucket: str, ident: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    start = now - now % window
    # Digest the identifier: a cache key must be short and must not contain a client's input.
    return f"twenty_oauth:rl:{bucket}:{secrets.digest(ident)[:32]}:{start}", start + window - now


def check(bucket: str, ident: str, rate: str | None) -> None:
    """Raise ``TooManyRequests`` when the current window is already full."""
    if not rate:
        return
    limit, window = parse_rate(rate)
    key, remaining = _key(bucket, ident, window)
    if (caches[oauth_settings.RATE_LIMIT_CACHE].get(key) or 0) >= limit:
        raise TooManyRequests(remaining)


def hit(bucket: str, ident: str, rate: str | None) -> None:
    """Count one event in the current window."""
    if not rate:
        return
    _, window = parse_rate(rate)
    key, _ = _key(bucket, ident, window)
    cache = caches[oauth_settings.RATE_LIMIT_CACHE]
    if not cache.add(key, 1, window + 1):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window + 1)
