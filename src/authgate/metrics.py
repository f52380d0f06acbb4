"""Prometheus metrics: every name, help text and label set, defined once, in one registry the app owns.

`Metrics` is built once per `Services` (so one per server process) and reached as
`services.metrics`; code that has something to count calls one of its methods:

    services.metrics.login("success")           # LOGIN_OUTCOMES
    services.metrics.cache("clients", hit=True)  # the one cache type
    services.metrics.token_issued("refresh_token", "confidential")

Under `authgate serve --workers N` the values live in prometheus-client's multiprocess files
(`PROMETHEUS_MULTIPROC_DIR`, which `serve` creates per start and removes at exit, see
`multiprocess_directory`), so a scrape answered by any worker sums every worker. A single
process keeps them in memory. prometheus-client decides which of the two when it is first
imported, from the environment; nothing here registers into its global default registry.

Labels are bounded: routes are templates (`/admin/api/users/{user_id}`), never raw paths;
methods, outcomes and kinds outside their known sets are counted as "other".
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from authgate.storage.database import Database

__all__ = ["CONTENT_TYPE", "LOGIN_OUTCOMES", "Metrics", "multiprocess_directory"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LOGIN_OUTCOMES = frozenset({"success", "wrong_password", "locked", "mfa_required", "unverified"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CLIENT_TYPES = frozenset({"confidential", "public"})
LOCK_KINDS = frozenset({"pair", "account", "address"})
OTHER = "other"

# Seconds. The token endpoint answers in ~1 ms; a password login (argon2id) in ~50-100 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The server's metrics. `registry` holds them in a single process; `exposition()` renders a scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._live: list[Collector] = []
        registry = self.registry
        self.http_requests = Counter(
            "authgate_http_requests", "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"], registry=registry)
        self.http_latency = Histogram(
            "authgate_http_request_duration_seconds", "Time from a request's arrival to its answer's last byte.",
            ["route"], buckets=LATENCY_BUCKETS, registry=registry)
        self.outage_responses = Counter(
            "authgate_outage_responses", "503 answers: the database (or another dependency) was down or busy.",
            ["route"], registry=registry)
        self.tokens_issued = Counter(
            "authgate_tokens_issued", "Token responses issued by the token endpoint, by grant and client type.",
            ["grant_type", "client_type"], registry=registry)
        self.logins = Counter(
            "authgate_logins", "Password logins (pages and password grant), by outcome.",
            ["outcome"], registry=registry)
        self.throttle_locks = Counter(
            "authgate_throttle_locks", "Brute-force locks set, by what was locked (pair, account, address).",
            ["kind"], registry=registry)
        self.refresh_reuse = Counter(
            "authgate_refresh_token_reuse_detections", "Rotated refresh tokens presented again (family revoked).",
            registry=registry)
        self.pool_in_use = Gauge(
            "authgate_db_pool_connections_in_use", "Database connections checked out of the pool.",
            registry=registry, multiprocess_mode="livesum")
        self.pool_overflow = Gauge(
            "authgate_db_pool_overflow", "Connections open beyond the pool's size (PostgreSQL's max_overflow).",
            registry=registry, multiprocess_mode="livesum")
        self.pool_timeouts = Counter(
            "authgate_db_pool_timeouts", "Waits for a pooled connection that ran out of time (every one busy).",
            registry=registry)
        self.outbox_failures = Counter(
            "authgate_outbox_delivery_failures", "Outbox delivery attempts that failed, by whether it will retry.",
            ["final"], registry=registry)
        self.cache_lookups = Counter(
            "authgate_cache_lookups", "Lookups in the in-process caches, by cache and result.",
            ["cache", "result"], registry=registry)
        # Children by label values: `labels()` takes a lock and builds a key; the hot path looks up a dict.
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[str, Any] = {}

    # --- what the code counts --------------------------------------------------
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered HTTP request (web/observe.py)."""
        key = (route, method, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.http_requests.labels(
                route, method if method in METHODS else OTHER, str(status))
        counter.inc()
        histogram = self._latencies.get(route)
        if histogram is None:
            histogram = self._latencies[route] = self.http_latency.labels(route)
        histogram.observe(seconds)
        if status == 503:
            self.outage_responses.labels(route).inc()

    def token_issued(self, grant_type: str, client_type: str) -> None:
        self.tokens_issued.labels(grant_type, client_type if client_type in CLIENT_TYPES else OTHER).inc()

    def login(self, outcome: str) -> None:
        """A login's outcome: one of LOGIN_OUTCOMES (the MFA and federation work add theirs there)."""
        self.logins.labels(outcome if outcome in LOGIN_OUTCOMES else OTHER).inc()

    def throttle_lock(self, kind: str) -> None:
        self.throttle_locks.labels(kind if kind in LOCK_KINDS else OTHER).inc()

    def refresh_reused(self) -> None:
        self.refresh_reuse.inc()

    def outbox_failure(self, final: bool) -> None:
        self.outbox_failures.labels("true" if final else "false").inc()

    def cache(self, name: str, hit: bool) -> None:
        """A lookup in a named cache (names are the code's own, a fixed set)."""
        self.cache_lookups.labels(name, "hit" if hit else "miss").inc()

    def pool_timeout(self) -> None:
        self.pool_timeouts.inc()

    # --- wiring ----------------------------------------------------------------
    def watch_database(self, database: Database) -> None:
        """Pool gauges from the engine's pool events, timeouts from the database's outage translation,
        and the outbox's depth read at scrape time."""
        watch_pool(database.engine, self.pool_in_use, self.pool_overflow)
        database.on_pool_timeout = self.pool_timeout
        self.add_live(OutboxDepth(database))

    def add_live(self, collector: Collector) -> None:
        """A collector read at scrape time in the answering process (values that are not per process)."""
        self._live.append(collector)
        self.registry.register(collector)

    def exposition(self) -> bytes:
        """The Prometheus text format: every worker's values in multiprocess mode, else this process's."""
        if not os.environ.get(MULTIPROC_ENV):
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # per scrape, as prometheus-client's multiprocess mode requires
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        for collector in self._live:
            registry.register(collector)
        return generate_latest(registry)


def watch_pool(engine: Engine, in_use: Gauge, overflow: Gauge) -> None:
    """Count connections as they leave and return to the pool. The pool's own counters lag its
    events (a checkin is announced before it is counted), so the count is kept here; overflow
    connections exist only while checked out (QueuePool closes them on return)."""
    size_of = getattr(engine.pool, "size", None)
    size = size_of() if callable(size_of) else None
    lock = threading.Lock()
    checked_out = 0

    def moved(change: int) -> None:
        nonlocal checked_out
        with lock:
            checked_out += change
            in_use.set(checked_out)
            if size is not None:
                overflow.set(max(0, checked_out - size))

    event.listen(engine.pool, "checkout", lambda *_: moved(1))
    event.listen(engine.pool, "checkin", lambda *_: moved(-1))


class OutboxDepth(Collector):
    """Messages waiting in the outbox, counted when scraped (one query; nothing when the database is down)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # not described up front: collecting needs the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from authgate.storage.database import DatabaseUnavailable
        from authgate.storage.models import OutboxMessage

        try:
            with self.database.reader() as session:
                depth = session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.status == "pending"))
        except DatabaseUnavailable:
            return
        yield GaugeMetricFamily("authgate_outbox_depth", "Outbox messages waiting to be delivered.", value=depth or 0)


@contextmanager
def multiprocess_directory(workers: int) -> Iterator[None]:
    """For `serve --workers N` (N > 1): a fresh directory for the workers' metric files, named in the
    environment they inherit, removed at exit. A directory the operator set is used as it is."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="authgate-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def mark_worker_dead(pid: int) -> None:
    """For the supervisor, when a worker is gone: its live gauges (pool in use) stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped upstream
