"""Every wait on the database is bounded by AUTHGATE_DATABASE_TIMEOUT, then 503 with Retry-After.

PostgreSQL is reached through `testkit.Forwarder`: `blackhole()` keeps the connections open while
nothing comes back (what a partition or a stuck proxy looks like to the server).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import jwt
import psycopg
import pytest
from sqlalchemy import text
from test_token_world import PASSWORD, load_world

from authgate import bootstrap
from authgate.caching import Cache
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.database import Database, DatabaseUnavailable
from authgate.testing.clock import FakeClock
from authgate.web.app import create_app
from testkit import TEST_MASTER_KEY, Forwarder, LiveServer, empty_postgres, free_port

TIMEOUT = 4.0  # the smallest AUTHGATE_DATABASE_TIMEOUT: 2 s to connect, 2 s per round trip
MARGIN = 1.5  # scheduling on a shared machine


@pytest.fixture
def forwarder() -> Iterator[Forwarder]:
    forwarder = Forwarder(free_port())
    forwarder.open()
    yield forwarder
    forwarder.restore()
    forwarder.cut()


def via(forwarder: Forwarder, url: str) -> str:
    rerouted = url.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    assert rerouted != url
    return rerouted


@contextmanager
def within(seconds: float) -> Iterator[None]:
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    assert took <= seconds, f"took {took:.2f} s, bound {seconds} s"


def select_one(database: Database) -> int:
    with database.statement() as connection:
        return int(connection.execute(text("SELECT 1")).scalar_one())


def fails_within(seconds: float, forwarder: Forwarder, operation: Callable[[], object]) -> None:
    """`operation` raises DatabaseUnavailable within `seconds`. Should it hang, the blackhole
    is lifted (so that the test fails rather than hangs)."""
    outcome: list[str] = []

    def run() -> None:
        try:
            operation()
            outcome.append("answered")
        except DatabaseUnavailable:
            outcome.append("unavailable")

    started = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(seconds)
    took = time.monotonic() - started
    if thread.is_alive():
        forwarder.restore()
        thread.join(10)
    assert outcome == ["unavailable"] and took <= seconds, (outcome, f"{took:.2f} s > {seconds} s")


def in_a_transaction(database: Database, then: Callable[[], None] = lambda: None) -> None:
    with database.transaction() as session:
        session.execute(text("SELECT 1"))
        then()


def test_a_round_trip_left_unanswered_fails_at_its_deadline_and_the_pool_recovers(
        pg_database, forwarder):
    database = Database(via(forwarder, pg_database), timeout=TIMEOUT)
    try:
        assert select_one(database) == 1
        forwarder.blackhole()
        # The connection is open, the statement never answered; then a new connection, likewise.
        fails_within(TIMEOUT / 2 + MARGIN, forwarder, lambda: select_one(database))
        fails_within(TIMEOUT + MARGIN, forwarder, lambda: in_a_transaction(database))
        forwarder.restore()
        assert select_one(database) == 1, "back by itself"
        # The statement is answered, the COMMIT never is.
        def commit_unanswered() -> None:
            in_a_transaction(database, then=forwarder.blackhole)

        fails_within(TIMEOUT / 2 + MARGIN, forwarder, commit_unanswered)
        forwarder.restore()
        assert select_one(database) == 1
    finally:
        database.dispose()


def test_an_idle_connection_pinged_into_a_blackhole_costs_one_timeout_at_most(
        pg_database, forwarder, monkeypatch):
    from authgate.storage import database as database_module

    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout pings
    database = Database(via(forwarder, pg_database), timeout=TIMEOUT)
    try:
        assert select_one(database) == 1
        forwarder.blackhole()
        # The ping times out, then so does connecting anew.
        fails_within(TIMEOUT + MARGIN, forwarder, lambda: select_one(database))
        forwarder.restore()
        assert select_one(database) == 1
    finally:
        database.dispose()


def test_a_lock_held_elsewhere_is_given_up_by_the_server_within_the_bound(pg_database):
    database = Database(pg_database, timeout=TIMEOUT)
    plain = pg_database.replace("postgresql+psycopg://", "postgresql://")
    try:
        with database.statement() as connection:
            timeouts = connection.execute(text("SELECT current_setting('statement_timeout'), "
                                               "current_setting('lock_timeout')")).one()
        assert tuple(timeouts) == ("1600ms", "1600ms"), "80% of a round trip (half of 4 s)"
        with psycopg.connect(plain) as holder:
            holder.execute("CREATE TABLE IF NOT EXISTS timeout_probe (id int)")
            holder.commit()
            holder.execute("LOCK TABLE timeout_probe IN ACCESS EXCLUSIVE MODE")
            with within(TIMEOUT / 2 + MARGIN), pytest.raises(DatabaseUnavailable), \
                    database.transaction() as session:
                session.execute(text("SELECT * FROM timeout_probe"))
            holder.rollback()
        with database.transaction() as session:
            session.execute(text("DROP TABLE timeout_probe"))
    finally:
        database.dispose()


def test_sqlite_waits_for_a_writer_no_longer_than_the_bound(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'busy.db'}", timeout=TIMEOUT)
    other = Database(f"sqlite:///{tmp_path / 'busy.db'}", timeout=TIMEOUT)
    try:
        with database.transaction() as session:
            assert session.execute(text("PRAGMA busy_timeout")).scalar_one() == TIMEOUT * 1000
            session.execute(text("CREATE TABLE busy (id int)"))
        with other.transaction() as holding:
            holding.execute(text("INSERT INTO busy VALUES (1)"))  # BEGIN IMMEDIATE: the write lock
            with within(TIMEOUT + MARGIN), pytest.raises(DatabaseUnavailable), \
                    database.transaction() as session:
                session.execute(text("INSERT INTO busy VALUES (2)"))
    finally:
        database.dispose()
        other.dispose()


def test_those_waiting_for_a_load_that_failed_fail_with_it_without_loading_again():
    """A cache reloaded from a database that is down: those queued behind the load share its
    `DatabaseUnavailable` at once instead of each waiting out a timeout of its own."""
    loads: list[str] = []
    loading, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def load(key: str) -> str:
        loads.append(key)
        loading.set()
        if len(loads) == 1:
            assert release.wait(5)
            raise DatabaseUnavailable("timed out")
        return "loaded"

    cache: Cache[str, str] = Cache(load, ttl=10, clock=FakeClock())

    def get() -> None:
        try:
            cache.get("k")
            outcomes.append("loaded")
        except DatabaseUnavailable:
            outcomes.append("shared the failure")

    first = threading.Thread(target=get)
    first.start()
    assert loading.wait(5)
    waiters = [threading.Thread(target=get) for _ in range(3)]
    for thread in waiters:
        thread.start()
    time.sleep(0.2)  # let the waiters queue up behind the load (thread scheduling, not a cache's clock)
    release.set()
    for thread in [first, *waiters]:
        thread.join(10)
    assert loads == ["k"] and outcomes == ["shared the failure"] * 4
    assert cache.get("k") == "loaded", "a caller arriving afterwards tries anew"


@pytest.fixture
def server_behind(pg_database, forwarder, tmp_path) -> Iterator[LiveServer]:
    empty_postgres(pg_database)
    port = free_port()
    common = {"data_dir": tmp_path, "master_key": TEST_MASTER_KEY, "client_cache_seconds": 0,
              "issuer": f"http://127.0.0.1:{port}", "database_timeout": TIMEOUT}
    direct = Services(Settings(database_url=pg_database, **common))
    bootstrap.prepare(direct)
    load_world(direct)
    direct.database.dispose()
    services = Services(Settings(database_url=via(forwarder, pg_database), **common))
    server = LiveServer(create_app(services=services), port).start()
    yield server
    forwarder.restore()
    server.stop()
    services.database.dispose()


FORGED = jwt.encode({"sub": "1"}, "k" * 32, algorithm="HS256",
                    headers={"typ": "at+jwt", "kid": "unknown-key"})  # its key is looked up first
SURFACES = {  # what asks the database, on each surface: method, path, and what is sent
    "token endpoint": ("POST", "/oauth/token", {"data": {
        "grant_type": "password", "client_id": "coffee-app", "username": "barista",
        "password": PASSWORD}}),
    "hosted pages": ("GET", "/authorize", {"params": {
        "client_id": "coffee-app", "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1:5000/cb"}}),
    "admin API": ("GET", "/admin/api/users", {"headers": {"Authorization": f"Bearer {FORGED}"}}),
    "readiness": ("GET", "/readyz", {}),
}


def test_every_surface_answers_503_with_retry_after_within_the_bound(server_behind, forwarder):
    with httpx.Client(timeout=TIMEOUT + MARGIN + 5) as http:
        assert http.get(server_behind.url + "/readyz").status_code == 200
        # The admin routes are imported on their first request (web/app.py LazyRoutes): not a wait on the database.
        assert http.get(server_behind.url + "/admin/api/users").status_code == 401
        forwarder.blackhole()
        for surface, (method, path, sent) in SURFACES.items():
            with within(TIMEOUT + MARGIN):
                response = http.request(method, server_behind.url + path, **sent)
            assert response.status_code == 503, (surface, response.status_code, response.text[:200])
            assert int(response.headers["retry-after"]) > 0, surface
        with within(TIMEOUT + MARGIN):  # a browser is shown a page, not the protocol's JSON
            page = http.get(server_behind.url + "/login", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html"), page.text[:200]
        assert "Temporarily unavailable" in page.text and int(page.headers["retry-after"]) > 0
        forwarder.restore()
        assert http.get(server_behind.url + "/readyz").status_code == 200, "back by itself"
