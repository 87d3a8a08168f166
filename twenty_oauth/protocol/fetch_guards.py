"""
What bounds the fetches that a stranger's request can cause (client ID metadata documents,
draft-ietf-oauth-client-id-metadata-document §6, "Security Considerations": server-side request
forgery and denial of service):

- :class:`FetchSlots` — at most ``CLIENT_METADATA_MAX_CONCURRENT_FETCHES`` fetches at once. In a
  process, a counter that also covers a name lookup left running by a fetch that timed out, so
  that slow name servers hold no more threads than that. Across processes, as many keys in the
  rate-limit cache, each taken with an atomic ``add()``: with Redis or Memcached no more sync
  workers than that are ever waiting on fetches. A full cap fails at once, it is never queued for.
- :class:`SingleFlight` — one fetch of a URL at a time in a process: whoever asks for the same
  URL meanwhile waits for that fetch's outcome instead of fetching it again.
- :class:`FailureMemory` — the URLs whose fetch failed lately, and why, so that they are not
  fetched again for a while: at most ``size`` of them, each for ``seconds``, per process.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import caches

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import TemporarilyUnavailable
from twenty_oauth.protocol import ratelimit

SLOT_PREFIX = "twenty_oauth:fetch-slot:"
#: A shared slot outlives the fetch that holds it by this much at most, should its process die.
SLOT_GRACE_SECONDS = 5


class Outcome:
    """A value or an exception, set once by one thread and awaited by others."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def set(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error
        self._done.set()

    def result(self, timeout: float) -> Any:
        """The value, or the exception raised; ``TimeoutError`` if not set within ``timeout``."""
        if not self._done.wait(timeout):
            raise TimeoutError
        if self._error is not None:
            raise self._error
        return self._value


class Lease:
    """
    A fetch's place under the cap in this process. It ends when the request is done with the
    fetch *and* any name lookup the fetch started has returned: a lookup cannot be interrupted,
    and one left behind by a timed-out fetch still occupies a thread.
    """

    def __init__(self, release: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._holders = 1
        self._release = release

    def extend(self) -> None:
        """One more holder (a name lookup on a thread of its own) until its ``end()``."""
        with self._lock:
            self._holders += 1

    def end(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            self._release()


class FetchSlots:
    """The cap on fetches at once: per process, and across processes through the cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0

    def _busy(self) -> TemporarilyUnavailable:
        return TemporarilyUnavailable(
            "Too many application metadata documents are being fetched right now; try again shortly.",
            retry_after=oauth_settings.CLIENT_METADATA_TIMEOUT,
        )

    def _release(self) -> None:
        with self._lock:
            self.active -= 1

    @contextmanager
    def slot(self) -> Iterator[Lease]:
        """Hold a place for one fetch; ``TemporarilyUnavailable`` at once when there is none."""
        limit = oauth_settings.CLIENT_METADATA_MAX_CONCURRENT_FETCHES
        with self._lock:
            if self.active >= limit:
                raise self._busy()
            self.active += 1
        lease = Lease(self._release)
        try:
            shared = self._take_shared(limit)
        except BaseException:
            lease.end()
            raise
        try:
            yield lease
        finally:
            self._give_back_shared(shared)
            lease.end()

    def _take_shared(self, limit: int) -> tuple[str, str] | None:
        """One of ``limit`` keys in the rate-limit cache, or ``TemporarilyUnavailable``."""
        cache = caches[oauth_settings.RATE_LIMIT_CACHE]
        owner = secrets.token_hex(8)
        seconds = oauth_settings.CLIENT_METADATA_TIMEOUT + SLOT_GRACE_SECONDS
        try:
            for index in range(limit):
                key = f"{SLOT_PREFIX}{index}"
                if cache.add(key, owner, seconds):
                    return key, owner
        except Exception as exc:  # noqa: BLE001 - any cache backend error: the process cap still holds
            ratelimit.unavailable(exc)
            return None
        raise self._busy()

    def _give_back_shared(self, shared: tuple[str, str] | None) -> None:
        if shared is None:
            return
        key, owner = shared
        cache = caches[oauth_settings.RATE_LIMIT_CACHE]
        try:
            # Only if still ours: a key that outlived its time may have been taken by another fetch.
            if cache.get(key) == owner:
                cache.delete(key)
        except Exception as exc:  # noqa: BLE001 - the key expires on its own
            ratelimit.unavailable(exc)


class SingleFlight:
    """One run of ``work`` per key at a time; callers for a key in flight share its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Outcome] = {}

    def run(self, key: str, work: Callable[[], Any], *, wait: float) -> Any:
        """
        ``work()``'s value, or its exception. A caller who finds ``key`` in flight waits at most
        ``wait`` seconds for it (``TimeoutError`` after that) and does not run ``work``.
        """
        with self._lock:
            flight = self._flights.get(key)
            leads = flight is None
            if leads:
                flight = self._flights[key] = Outcome()
        if not leads:
            return flight.result(wait)
        value, error = None, None
        try:
            value = work()
        except BaseException as exc:
            error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.set(value, error)
        return value


class FailureMemory:
    """Recent failures by URL, each with its description; bounded in number and in time."""

    #: The clock entries age by (a test replaces it).
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, url: str) -> str | None:
        """Why fetching ``url`` failed, if it did within the last ``seconds``."""
        with self._lock:
            entry = self._entries.get(url)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self._entries[url]
                return None
            return entry[1]

    def remember(self, url: str, description: str, *, seconds: int, size: int) -> None:
        """Keep the failure for ``seconds``; past ``size`` entries the oldest goes first."""
        if seconds <= 0 or size <= 0:
            return
        with self._lock:
            self._entries.pop(url, None)
            self._entries[url] = (self.clock() + seconds, description)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
