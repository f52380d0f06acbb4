"""The one in-memory cache type: values by key, fresh for a TTL, loaded one at a time per key.

    cache = Cache(load_client, ttl=2.0, clock=time.monotonic, max_entries=10_000)
    cache.peek("svc")        # from memory only: the value, or MISS (unknown, or no longer fresh)
    cache.get("svc")         # the value; loads it (may do I/O) unless fresh in memory
    cache.refresh_due()      # reload, ahead of expiry, the entries in use (a background warmer calls this)
    cache.invalidate("svc")  # the next get() loads again; cache.clear() forgets every entry

`peek` never does I/O, so a caller on an event loop may use it; `MISS` is distinct from any value,
so a cached negative answer (`None` for "no such client") is a hit. `get` is single flight per
key: callers that arrive while a load of their key is under way wait for it and share its
outcome — its value, or its exception (a database that is down fails the waiters at once, instead
of each of them waiting out its own timeout in turn). A failed load caches nothing; the next
caller to arrive afterwards tries anew.

Freshness is measured on the injected `clock` (seconds; `time.monotonic` unless a test passes a
clock it advances). An entry is fresh until `ttl` after it was loaded or, when `lifetime` is
given, until the time it returns for the value, if that comes first (a verified token is not
served past its own expiry). `max_entries` bounds a cache whose keys come from requests (unknown
client ids, subjects, tokens): the oldest loaded entry makes room. Imports nothing from authgate,
so any layer may use it — except the guard, which imports nothing from the server at all and
keeps its own two small caches (guard/cache.py, guard/jwks.py), on clocks injected the same way.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Miss(enum.Enum):
    """What `peek` answers when memory holds no fresh value for the key."""

    MISS = enum.auto()


MISS: Final = Miss.MISS


@dataclass
class _Entry(Generic[V]):
    value: V
    loaded_at: float
    fresh_until: float
    used_at: float


@dataclass
class _Flight(Generic[V]):
    """One load under way; those who wait for it read its outcome once `done` is set."""

    done: threading.Event = field(default_factory=threading.Event)
    value: V | None = None
    error: BaseException | None = None


class Cache(Generic[K, V]):
    def __init__(
        self,
        load: Callable[[K], V],
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int | None = None,
        lifetime: Callable[[V], float] | None = None,
    ) -> None:
        """`ttl` <= 0 caches nothing: every `get` loads and every `peek` misses."""
        self._load = load
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._lifetime = lifetime
        self._entries: dict[K, _Entry[V]] = {}
        self._flights: dict[K, _Flight[V]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate/clear: a load that began before is not stored

    def peek(self, key: K) -> V | Miss:
        """The fresh value held for `key`, or MISS; never loads."""
        entry = self._entries.get(key)
        if entry is None:
            return MISS
        now = self._clock()
        if now >= entry.fresh_until:
            return MISS
        entry.used_at = now
        return entry.value

    def get(self, key: K, *, max_age: float | None = None) -> V:
        """The value for `key`: from memory while fresh (and, with `max_age`, no older than that),
        else loaded — once, whoever else asks meanwhile. Raises what the load raised."""
        entry = self._entries.get(key)
        if entry is not None:
            now = self._clock()
            if now < entry.fresh_until and (max_age is None or now - entry.loaded_at < max_age):
                entry.used_at = now
                return entry.value
        return self._load_once(key)

    def refresh_due(self, *, ahead: float | None = None) -> None:
        """Reload every entry used within the last TTL that is older than `ahead` seconds
        (half the TTL by default), so that `peek` keeps finding it; others are left to expire."""
        if self.ttl <= 0:
            return
        ahead = self.ttl / 2 if ahead is None else ahead
        now = self._clock()
        for key, entry in list(self._entries.items()):
            if now - entry.loaded_at >= ahead and now - entry.used_at < self.ttl:
                self._load_once(key)

    def invalidate(self, key: K) -> None:
        """Forget `key`: the next `get` loads it (a load under way now is not kept)."""
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _load_once(self, key: K) -> V:
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            generation = self._generation
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[return-value]  # set by the leader before `done`
        try:
            started = self._clock()
            value = self._load(key)
            self._store(key, value, started, generation)
            flight.value = value
            return value
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def _store(self, key: K, value: V, loaded_at: float, generation: int) -> None:
        if self.ttl <= 0:
            return
        fresh_until = loaded_at + self.ttl
        if self._lifetime is not None:
            fresh_until = min(fresh_until, self._lifetime(value))
        with self._lock:
            if generation != self._generation:
                return  # invalidated while loading: what was read may already be out of date
            previous = self._entries.pop(key, None)
            # A reload is not a use: an entry nobody asks for any more is let expire.
            used_at = loaded_at if previous is None else previous.used_at
            if self._max_entries is not None:
                while len(self._entries) >= self._max_entries:
                    del self._entries[next(iter(self._entries))]
            self._entries[key] = _Entry(value, loaded_at, fresh_until, used_at)
