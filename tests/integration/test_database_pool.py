"""The connection pool without a ping per checkout: idle connections are pinged, busy ones are not,
and a dead connection never reaches a caller after it sat idle."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import event, text

from authgate.storage import database as database_module
from authgate.storage.database import Database, DatabaseUnavailable


def statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def backend_pid(db: Database) -> int:
    with db.reader() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(url: str, pid: int) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.fixture
def pg(pg_database):
    db = Database(pg_database, pool_size=1)
    yield db
    db.dispose()


def count_pings(monkeypatch, db: Database) -> list[object]:
    """Pings of `db`'s connections (other tests' engines in this process may ping theirs meanwhile)."""
    pings: list[object] = []
    original = database_module._ping
    with db.engine.connect() as connection:  # the pool's one connection (pool_size=1, just used: no ping)
        mine = {id(connection.connection.dbapi_connection)}

    def counted(dbapi_connection: object) -> None:
        if id(dbapi_connection) in mine:
            pings.append(dbapi_connection)
        original(dbapi_connection)

    monkeypatch.setattr(database_module, "_ping", counted)
    return pings


def test_a_connection_in_steady_use_is_not_pinged_an_idle_one_is(pg, monkeypatch):
    # Steady use: every checkout well inside the idle threshold, however slowly a loaded machine runs them.
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 60)
    backend_pid(pg)
    pings = count_pings(monkeypatch, pg)
    for _ in range(5):
        backend_pid(pg)
    assert pings == [], "no round trip per checkout while the connection is in use"
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    time.sleep(0.1)
    backend_pid(pg)
    assert len(pings) == 1


def test_a_connection_killed_while_idle_is_replaced_before_anyone_uses_it(pg, pg_database, monkeypatch):
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    first = backend_pid(pg)
    terminate(pg_database, first)  # the server restarted (or a proxy dropped it) while the pool slept
    time.sleep(0.1)
    assert backend_pid(pg) != first, "answered on a new connection, no error"


def test_a_connection_killed_while_busy_fails_once_then_the_pool_recovers(pg, pg_database, monkeypatch):
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 3600)  # never pinged
    first = backend_pid(pg)
    terminate(pg_database, first)
    with pytest.raises(DatabaseUnavailable):  # 503 for the request that found it dead
        backend_pid(pg)
    assert backend_pid(pg) != first, "the next request gets a fresh connection by itself"


def test_readers_are_one_round_trip_on_postgresql(pg):
    backend_pid(pg)
    seen = statements(pg)
    with pg.reader() as session:
        session.execute(text("SELECT 3"))
    assert seen == ["SELECT 3"]
    with pg.reader() as session:
        in_transaction = session.execute(text("SELECT now() <> statement_timestamp()")).scalar_one()
    assert in_transaction is False, "no transaction block around a read: one round trip, no BEGIN/COMMIT"


def test_batched_audit_events_survive_a_lost_connection(pg, pg_database, monkeypatch):
    """The COPY below SQLAlchemy reports a dead connection as an outage: events kept, pool recovers."""
    from authgate.oauth2.issuance_log import IssuanceLog
    from authgate.storage import migrate

    migrate.upgrade(pg)
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 3600)
    log = IssuanceLog(pg, flush_delay=0.1)
    terminate(pg_database, backend_pid(pg))
    log.record(subject="pool-test", client_id="c", grant_type="client_credentials", ip="127.0.0.1")
    assert log.flush() == 0, "the connection died: nothing written, nothing raised"
    assert log.flush() == 1, "kept and written with the next flush, on a fresh connection"
    with pg.reader() as session:
        assert session.execute(text("SELECT count(*) FROM audit_events WHERE subject = 'pool-test'")).scalar_one() >= 1
