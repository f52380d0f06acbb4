"""Brute-force protection for every password check, shared by all server processes.

Three counters per failed attempt, each counted over `lockout_window` seconds:

==========  =================================  ==========================  ==================================
counter     key                                threshold                   what a lock stops
==========  =================================  ==========================  ==================================
pair        ``pair:<account>|<address>``       `lockout_pair_threshold`    that account from that address
account     ``account:<account>``              `lockout_account_threshold` that account from every address
address     ``address:<address>``              `lockout_ip_threshold`      that address, for every account
==========  =================================  ==========================  ==================================

Once a counter reaches its threshold, each further counted failure locks its
key for ``lockout_base_delay * 2 ** (failures - threshold)`` seconds, capped
at `lockout_max_duration`: delays grow and locks end by themselves. An
attempt refused by a lock is not counted again (and costs no password hash).
A success clears the pair's counter only (when it has one); the account's
and address's counters age out with the window. The pair threshold is the
lowest, so one address guessing at one account is stopped long before the
account-wide delays begin: the account's owner elsewhere still gets in,
while many addresses guessing at one account are slowed for that account.

Unknown usernames are counted exactly like known ones (same answers).

A login reads its standing (`Throttle.check`: any lock, and whether the
pair has a count) in the session that reads the user — with database
counters, in the very statement that reads the user (`LOCKED_UNTIL`,
`PAIR_COUNTED`, `Throttle.standing_from`) — and clears the pair
(`Throttle.succeeded`), only if it has a count, in the transaction that
records the login: no transaction of their own.

Storage: the `login_throttles` table (row-locked read-modify-write in one
transaction; SQLite serialises writers), or Redis when `AUTHGATE_REDIS_URL`
is set (one Lua script per failure: INCR + PEXPIRE, lock keys with a TTL).
If Redis is unreachable the database counters take over for the next
`REDIS_RETRY_SECONDS` (protection never switches off, and never a 500).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import BindParameter, Table, bindparam, delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from authgate import audit
from authgate.accounts.users import normalize_username
from authgate.clock import aware, utcnow
from authgate.errors import InvalidInput
from authgate.settings import Settings
from authgate.storage import limits
from authgate.storage.database import Database
from authgate.storage.models import LoginThrottle

logger = logging.getLogger("authgate.throttle")
REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Rule:
    threshold: int
    base_delay: float
    max_duration: float
    window: int

    def lock_seconds(self, failures: int) -> float:
        if failures < self.threshold:
            return 0.0
        exponent = min(failures - self.threshold, 40)
        return float(min(self.base_delay * 2.0**exponent, self.max_duration))


@dataclass(frozen=True)
class Lock:
    """A lock a failure just set: which counter, on what key, for how long."""

    kind: str  # "pair" | "account" | "address"
    key: str
    seconds: float
    failures: int


@dataclass(frozen=True)
class CounterState:
    """What the counters hold for some keys: the longest lock still running, and which keys have a count."""

    locked_for: float
    counted: frozenset[str]


@dataclass(frozen=True)
class Standing:
    """Where one account from one address stands, read before its password is checked."""

    retry_after: float  # seconds until it may be tried again; 0 when it may now
    pair_counted: bool  # the pair has failures counted: a success must clear them


class Counters(Protocol):
    """`session`, where taken, is the caller's: reads and clears ride in it instead of a transaction of their own."""

    def state(self, keys: Sequence[str], session: Session | None = None) -> CounterState: ...
    def add_failures(self, items: Sequence[tuple[str, Rule]]) -> list[tuple[int, float]]: ...
    def clear(self, keys: Sequence[str], session: Session | None = None) -> None: ...
    def clear_prefixed(self, exact: str, prefix: str) -> int: ...


def account_key(username: str) -> str:
    try:
        name = normalize_username(username)
    except InvalidInput:
        name = username.strip().casefold()
    # Hashed when the name could not be a key as typed: too long, glob or separator characters,
    # or text the key column cannot hold (or should not show: control characters).
    storable = name.isprintable() and limits.is_storable(name, limits.USERNAME)
    if not storable or any(ch in name for ch in "|*?[]\\"):
        return "h-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    return name


class Throttle:
    def __init__(self, counters: Counters, settings: Settings) -> None:
        self.counters = counters
        window = settings.lockout_window
        top = float(settings.lockout_max_duration)
        base = settings.lockout_base_delay
        self.rules = {
            "pair": Rule(settings.lockout_pair_threshold, base, top, window),
            "account": Rule(settings.lockout_account_threshold, base, top, window),
            "address": Rule(settings.lockout_ip_threshold, base, top, window),
        }

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> Throttle:
        counters: Counters = DatabaseCounters(database)
        if settings.redis_url:
            counters = RedisCounters(settings.redis_url, settings.redis_key_prefix, fallback=counters)
        return cls(counters, settings)

    @staticmethod
    def keys(account: str, ip: str) -> dict[str, str]:
        return {"pair": f"pair:{account}|{ip}", "account": f"account:{account}", "address": f"address:{ip}"}

    @property
    def counts_in_database(self) -> bool:
        """The counters are the database's alone: a login may read its standing with `LOCKED_UNTIL` and
        `PAIR_COUNTED` in a statement of its own (with Redis, locks live in Redis: `check`)."""
        return isinstance(self.counters, DatabaseCounters)

    @classmethod
    def standing_parameters(cls, account: str, ip: str) -> dict[str, str]:
        """The values of `LOCKED_UNTIL` and `PAIR_COUNTED`'s parameters for this account and address."""
        return {f"{kind}_key": key for kind, key in cls.keys(account, ip).items()}

    @staticmethod
    def standing_from(locked_until: datetime | None, pair_counted: bool) -> Standing:
        """The `Standing` that `LOCKED_UNTIL` and `PAIR_COUNTED` describe."""
        retry_after = (aware(locked_until) - utcnow()).total_seconds() if locked_until is not None else 0.0
        return Standing(max(retry_after, 0.0), bool(pair_counted))

    def retry_after(self, account: str, ip: str) -> float:
        """Seconds until this account may be tried from this address again; 0 when it may now."""
        return self.check(account, ip).retry_after

    def check(self, account: str, ip: str, session: Session | None = None) -> Standing:
        """One read of all three counters (in `session` when given): any lock, and whether the pair has a count."""
        keys = self.keys(account, ip)
        state = self.counters.state(list(keys.values()), session)
        return Standing(state.locked_for, keys["pair"] in state.counted)

    def failed(self, account: str, ip: str) -> list[Lock]:
        """Count one failure on all three counters; returns the locks it set."""
        keys = self.keys(account, ip)
        kinds = list(keys)
        results = self.counters.add_failures([(keys[kind], self.rules[kind]) for kind in kinds])
        return [Lock(kind, keys[kind], seconds, failures)
                for kind, (failures, seconds) in zip(kinds, results, strict=True) if seconds > 0]

    def succeeded(self, account: str, ip: str, session: Session | None = None) -> None:
        """Clear the pair's counter (in `session` when given; a caller that knows it has none may skip this)."""
        self.counters.clear([self.keys(account, ip)["pair"]], session)

    def unlock(self, account: str) -> int:
        """Clear an account's counters and locks, from every address; returns how many were cleared."""
        return self.counters.clear_prefixed(f"account:{account}", f"pair:{account}|")


def lock_events(locks: Sequence[Lock], *, account: str, ip: str, client_id: str | None) -> list[dict[str, Any]]:
    """Audit events for newly set locks (ACCOUNT_LOCKED for pair/account, ADDRESS_BLOCKED)."""
    return [
        {"type": audit.ADDRESS_BLOCKED if lock.kind == "address" else audit.ACCOUNT_LOCKED,
         "subject": None if lock.kind == "address" else account, "client_id": client_id, "ip": ip,
         "outcome": "locked", "scope": lock.kind, "seconds": math.ceil(lock.seconds), "failures": lock.failures}
        for lock in locks
    ]


_throttles = cast(Table, LoginThrottle.__table__)
# Read and cleared on every login: built once, on the table (Core).
_STATE = select(_throttles.c.key, _throttles.c.locked_until).where(
    _throttles.c.key.in_(bindparam("keys", expanding=True))
)
_CLEAR = delete(_throttles).where(_throttles.c.key.in_(bindparam("keys", expanding=True)))
# A login's standing as two columns, for a statement that reads it with the user (`Throttle.standing_from`
# reads them; `Throttle.standing_parameters` fills them in): the latest lock over the three keys, and
# whether the pair has a row.
_THREE_KEYS: list[BindParameter[str]] = [bindparam("pair_key"), bindparam("account_key"), bindparam("address_key")]
LOCKED_UNTIL = select(func.max(_throttles.c.locked_until)).where(_throttles.c.key.in_(_THREE_KEYS)).scalar_subquery()
PAIR_COUNTED = exists().where(_throttles.c.key == bindparam("pair_key"))


class DatabaseCounters:
    """`login_throttles` rows; every failure is one short transaction over the three rows."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._insert = sqlite.insert if database.is_sqlite else postgresql.insert

    def state(self, keys: Sequence[str], session: Session | None = None) -> CounterState:
        with nullcontext(session) if session is not None else self.database.reader() as reading:
            rows = reading.execute(_STATE, {"keys": list(keys)}).all()
        now = utcnow()
        locks = [(aware(row.locked_until) - now).total_seconds() for row in rows if row.locked_until is not None]
        return CounterState(max([*locks, 0.0]), frozenset(row.key for row in rows))

    def add_failures(self, items: Sequence[tuple[str, Rule]]) -> list[tuple[int, float]]:
        now = utcnow()
        results = []
        with self.database.transaction() as session:
            # A fixed order: no deadlock between concurrent failures.
            for key, _rule in sorted(items, key=lambda item: item[0]):
                session.execute(self._insert(LoginThrottle).values(key=key, failures=0, window_started_at=now)
                                .on_conflict_do_nothing(index_elements=["key"]))
            rows = {row.key: row for row in session.scalars(
                select(LoginThrottle).where(LoginThrottle.key.in_([key for key, _ in items]))
                .order_by(LoginThrottle.key).with_for_update().execution_options(populate_existing=True)
            )}
            for key, rule in items:
                row = rows[key]
                if aware(row.window_started_at) + timedelta(seconds=rule.window) <= now:
                    row.failures, row.window_started_at = 0, now
                row.failures += 1
                seconds = rule.lock_seconds(row.failures)
                if seconds > 0:
                    row.locked_until = now + timedelta(seconds=seconds)
                results.append((row.failures, seconds))
        return results

    def clear(self, keys: Sequence[str], session: Session | None = None) -> None:
        with nullcontext(session) if session is not None else self.database.transaction() as writing:
            writing.execute(_CLEAR, {"keys": list(keys)})

    def clear_prefixed(self, exact: str, prefix: str) -> int:
        with self.database.transaction() as session:
            result = session.execute(delete(LoginThrottle).where(
                or_(LoginThrottle.key == exact, LoginThrottle.key.startswith(prefix, autoescape=True))
            ))
            return int(result.rowcount)  # type: ignore[attr-defined]


# KEYS: counter, lock (per item). ARGV: window_ms, then threshold, base_ms, max_ms per item.
_FAILURE_SCRIPT = """
local out = {}
local window = tonumber(ARGV[1])
for i = 1, #KEYS / 2 do
  local counter, lock = KEYS[2 * i - 1], KEYS[2 * i]
  local threshold, base, top = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local n = redis.call('INCR', counter)
  if n == 1 then redis.call('PEXPIRE', counter, window) end
  local ms = 0
  if n >= threshold then
    ms = math.min(base * 2 ^ math.min(n - threshold, 40), top)
    redis.call('SET', lock, n, 'PX', math.max(1, math.floor(ms)))
  end
  out[#out + 1] = n
  out[#out + 1] = math.floor(ms)
end
return out
"""


class RedisCounters:
    """Counters in Redis, shared by every replica; the database takes over while Redis is down."""

    def __init__(self, url: str, prefix: str, *, fallback: Counters) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.prefix = prefix
        self.fallback = fallback
        self._script = self.client.register_script(_FAILURE_SCRIPT)
        self._down_until = 0.0

    def _counter(self, key: str) -> str:
        return f"{self.prefix}throttle:{key}"

    def _lock(self, key: str) -> str:
        return f"{self.prefix}throttle-lock:{key}"

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _went_down(self, error: BaseException) -> None:
        self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
        logger.warning("redis unavailable (%s); using the database for login counters for %ss",
                       type(error).__name__, REDIS_RETRY_SECONDS)

    def state(self, keys: Sequence[str], session: Session | None = None) -> CounterState:
        """Locks from Redis; counts from Redis and the database (which may hold some from an outage)."""
        if self._available():
            try:
                pipeline = self.client.pipeline(transaction=False)
                for key in keys:
                    pipeline.pttl(self._lock(key))
                    pipeline.exists(self._counter(key))
                answers = [int(value) for value in pipeline.execute()]
            except self._errors as error:
                self._went_down(error)
            else:
                remaining, exists = answers[0::2], answers[1::2]
                counted = {key for key, found in zip(keys, exists, strict=True) if found}
                in_database = self.fallback.state(keys, session).counted
                locks = [ms / 1000 for ms in remaining if ms > 0]
                return CounterState(max([*locks, 0.0]), frozenset(counted | in_database))
        return self.fallback.state(keys, session)

    def add_failures(self, items: Sequence[tuple[str, Rule]]) -> list[tuple[int, float]]:
        if self._available():
            try:
                keys = [name for key, _ in items for name in (self._counter(key), self._lock(key))]
                args: list[float] = [items[0][1].window * 1000]
                for _, rule in items:
                    args += [rule.threshold, rule.base_delay * 1000, rule.max_duration * 1000]
                flat = [int(value) for value in self._script(keys=keys, args=args)]
                return [(flat[i], flat[i + 1] / 1000) for i in range(0, len(flat), 2)]
            except self._errors as error:
                self._went_down(error)
        return self.fallback.add_failures(items)

    def clear(self, keys: Sequence[str], session: Session | None = None) -> None:
        if self._available():
            try:
                self.client.delete(*[name for key in keys for name in (self._counter(key), self._lock(key))])
            except self._errors as error:
                self._went_down(error)
        self.fallback.clear(keys, session)

    def clear_prefixed(self, exact: str, prefix: str) -> int:
        cleared = self.fallback.clear_prefixed(exact, prefix)
        if self._available():
            try:
                names = [self._counter(exact), self._lock(exact)]
                for pattern in (self._counter(prefix) + "*", self._lock(prefix) + "*"):
                    names += list(self.client.scan_iter(match=pattern, count=500))
                cleared += int(self.client.delete(*names))
            except self._errors as error:
                self._went_down(error)
        return cleared
