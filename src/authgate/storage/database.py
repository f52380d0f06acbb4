"""The database handle: one engine per process, sessions whose transactions the service layer owns."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from authgate.storage.deadlines import RoundTripDeadline

# Execution option: this connection's round trips may take as long as they take (schema migrations).
UNBOUNDED = "authgate_unbounded"


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is busy; callers answer 503 and retry later."""


class Database:
    """Owns the engine. `transaction()` for work that writes, `reader()` for work that only reads.

    `timeout` bounds each wait on the database (`Settings.database_timeout` says how it is split);
    past it the wait fails as `DatabaseUnavailable`.
    """

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, timeout: float = 5.0,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo, "pool_size": pool_size, "max_overflow": pool_size}
        deadline = None
        if self.is_sqlite:
            _ensure_parent(self.url.database)
            # A request waits for a pooled connection as long as for a lock, then is told the database is busy.
            kwargs.update(pool_timeout=timeout, connect_args={"check_same_thread": False, "timeout": timeout})
        else:
            deadline = RoundTripDeadline(timeout / 2)
            kwargs.update(pool_timeout=deadline.seconds, pool_recycle=1800,
                          connect_args=_postgresql_timeouts(self.url, deadline.seconds))
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_ms=int(timeout * 1000))
        else:
            assert deadline is not None
            _bound_round_trips(self.engine, deadline)
        _ping_after_idle(self.engine, deadline)
        # Handed to every session this database opens (`Session.info`): what the composition root
        # (services.py) wires in for the layers below it, e.g. the audit log's followers.
        self.session_info: dict[str, Any] = {}
        self._writer = sessionmaker(self.engine, expire_on_commit=False, info=self.session_info)
        # Readers need no transaction of their own: on PostgreSQL (READ COMMITTED) each statement
        # sees its own snapshot either way, so they run in autocommit and a lookup is one round
        # trip instead of three (BEGIN, SELECT, COMMIT). On SQLite they begin DEFERRED, which
        # does not take the write lock.
        reading = {"sqlite_begin": "DEFERRED"} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        self._autocommit = self.engine.execution_options(**reading)
        self._reader = sessionmaker(self.engine.execution_options(**reading), expire_on_commit=False,
                                    info=self.session_info)
        # Called when a wait for a pooled connection runs out of time (metrics count these).
        self.on_pool_timeout: Callable[[], None] = _nothing

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with translate_outage(self.on_pool_timeout), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; on SQLite it does not take the write lock."""
        with translate_outage(self.on_pool_timeout), self._reader() as session, session.begin():
            yield session

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A Core connection for one statement that is its own transaction.

        On PostgreSQL in autocommit: no BEGIN and COMMIT round trips and no
        Session bookkeeping, and a single statement (a data-modifying CTE
        included) is all or nothing by itself. On SQLite the reader's
        connection (reads only there). Outages are `DatabaseUnavailable`.
        """
        if self.is_sqlite:
            with self.reader() as session:
                yield session.connection()
            return
        with translate_outage(self.on_pool_timeout), self._autocommit.connect() as connection:
            yield connection

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_outage(on_pool_timeout: Callable[[], None] | None = None) -> Iterator[None]:
    """Errors that mean the database is out of reach (or every connection busy) as `DatabaseUnavailable`."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise DatabaseUnavailable(type(error.orig).__name__ if error.orig else str(error)) from error
    except exc.TimeoutError as error:
        # Every pooled connection is busy: overloaded, which callers treat like an outage (503, retry).
        if on_pool_timeout is not None:
            on_pool_timeout()
        raise DatabaseUnavailable("connection pool exhausted") from error
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise DatabaseUnavailable("connection lost") from error
        raise


def _nothing() -> None:
    pass


# A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _postgresql_timeouts(url: URL, round_trip: float) -> dict[str, Any]:
    """libpq parameters bounding each wait (parameters the URL sets itself are left to it).

    Connecting gets `round_trip` too (libpq counts whole seconds, at least 2). The server cancels a
    statement or lock wait at 80% of it, so a server that is reached answers with its own error
    (57014, 55P03) before the client-side deadline drops the connection. Keepalives and
    tcp_user_timeout end a connection whose packets go unanswered (a network partition).
    """
    server_side = f"{int(round_trip * 800)}ms"
    options = f"-c statement_timeout={server_side} -c lock_timeout={server_side}"
    given = url.query.get("options")
    parameters: dict[str, Any] = {
        "connect_timeout": max(2, int(round_trip)),
        "keepalives": 1,
        "keepalives_idle": max(1, int(round_trip)),
        "keepalives_interval": 1,
        "keepalives_count": max(1, int(round_trip)),
        "tcp_user_timeout": int(round_trip * 1000),
    }
    parameters = {name: value for name, value in parameters.items() if name not in url.query}
    # Later -c options win: the URL's own come last.
    parameters["options"] = f"{options} {given}" if isinstance(given, str) else options
    return parameters


def _bound_round_trips(engine: Engine, deadline: RoundTripDeadline) -> None:
    """Every statement, commit and rollback waits at most `deadline.seconds` for an answer.

    Armed before the round trip, disarmed after it; a commit or rollback stays armed until the
    connection goes back to the pool (or begins its next transaction). A connection carrying the
    UNBOUNDED execution option is not watched.
    """
    from psycopg.pq import TransactionStatus  # PostgreSQL only: psycopg is its driver

    def dbapi_of(connection: Connection) -> Any | None:
        if connection.invalidated or connection.closed:
            return None
        if connection.get_execution_options().get(UNBOUNDED):
            return None
        return connection.connection.dbapi_connection

    @event.listens_for(engine, "before_cursor_execute")
    def _before_statement(connection: Connection, cursor: Any, *_: Any) -> None:
        if not connection.get_execution_options().get(UNBOUNDED):
            deadline.arm(cursor.connection)

    @event.listens_for(engine, "after_cursor_execute")
    def _after_statement(_connection: Connection, cursor: Any, *_: Any) -> None:
        deadline.disarm(cursor.connection)

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        cursor = getattr(context, "cursor", None)  # documented, yet not set on every error
        if cursor is not None:
            deadline.disarm(cursor.connection)  # otherwise the connection's checkin does

    def ends_in_a_round_trip(dbapi_connection: Any) -> bool:
        # psycopg sends COMMIT or ROLLBACK only inside a transaction: never in autocommit.
        return bool(dbapi_connection.pgconn.transaction_status != TransactionStatus.IDLE)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _before_end(connection: Connection) -> None:
        dbapi_connection = dbapi_of(connection)
        if dbapi_connection is not None and ends_in_a_round_trip(dbapi_connection):
            deadline.arm(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if (dbapi_connection := dbapi_of(connection)) is not None:
            deadline.disarm(dbapi_connection)

    @event.listens_for(engine, "reset")
    def _before_reset(dbapi_connection: Any, *_: Any) -> None:
        if ends_in_a_round_trip(dbapi_connection):
            deadline.arm(dbapi_connection)  # the rollback on return to the pool

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            deadline.disarm(dbapi_connection)


def _ping_after_idle(engine: Engine, deadline: RoundTripDeadline | None) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle.

    `pool_pre_ping` would cost a round trip at every checkout, i.e. per
    transaction: on the token endpoint's hot paths that is a third of the
    round trips. A connection in steady use needs no ping: if the server went
    away under it, its next statement fails, the request answers 503, and
    SQLAlchemy invalidates the whole pool (every connection checked out
    before the failure is replaced at its next checkout). What remains is a
    connection that sat idle while the database restarted: it is pinged, and
    a dead one is replaced before anyone uses it (DisconnectionError makes the
    pool retry with a new connection).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["authgate_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("authgate_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            if deadline is not None:
                deadline.arm(dbapi_connection)
            _ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"idle connection is dead: {type(error).__name__}") from error
        finally:
            if deadline is not None:
                deadline.disarm(dbapi_connection)


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
    dbapi_connection.rollback()  # hand the connection out idle, not inside the ping's transaction


def _ensure_parent(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, *, busy_ms: int) -> None:
    """WAL, foreign keys, and explicit BEGIN so writers take the lock up front.

    pysqlite's implicit transactions would start writers as readers; in WAL
    mode such a transaction fails with SQLITE_BUSY_SNAPSHOT instead of waiting
    when another writer commits first. BEGIN IMMEDIATE waits (busy timeout: `busy_ms`, then
    "database is locked", an OperationalError, i.e. DatabaseUnavailable).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")
