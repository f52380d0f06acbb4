"""A client-side deadline on every round trip to PostgreSQL, for a database that stops answering.

Server-side timeouts (statement_timeout, lock_timeout) act only while the server is reached, and
TCP keepalives and tcp_user_timeout only while packets are dropped: when something in between (a
proxy, a load balancer, a half-open connection) keeps the socket open and acknowledged while
nothing comes back, libpq waits for ever and so does the request. So one thread per engine watches
the round trips in flight; one still waiting at its deadline has its socket shut down: psycopg
raises OperationalError, SQLAlchemy discards the connection (and the pool's older ones) and the
caller answers 503. The thread runs only while round trips are in flight (and lingers a little).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

logger = logging.getLogger("authgate.storage")

# How long the watching thread outlives the last round trip it watched: under steady traffic it
# stays, instead of starting a thread per statement.
LINGER_SECONDS = 5.0


class RoundTripDeadline:
    """`arm(connection)` before a round trip, `disarm(connection)` after it; a connection still
    armed `seconds` later has its socket shut down (the round trip fails, the connection is
    discarded)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # Armed connections → deadline (time.monotonic()), in arming order, which is deadline order:
        # every deadline is `seconds` after its arming. Re-arming moves a connection to the end.
        self._due: dict[Any, float] = {}
        self._changed = threading.Condition()  # guards _due and _watching; the watcher waits on it
        self._watching = False

    def arm(self, dbapi_connection: Any) -> None:
        due = time.monotonic() + self.seconds
        with self._changed:
            self._due.pop(dbapi_connection, None)
            self._due[dbapi_connection] = due
            if not self._watching:
                self._watching = True
                threading.Thread(target=self._watch, name="authgate-db-deadline",
                                 daemon=True).start()

    def disarm(self, dbapi_connection: Any) -> None:
        with self._changed:
            self._due.pop(dbapi_connection, None)

    def _watch(self) -> None:
        with self._changed:
            idle_since: float | None = None
            while True:
                now = time.monotonic()
                if not self._due:
                    idle_since = now if idle_since is None else idle_since
                    if now - idle_since >= LINGER_SECONDS:
                        break
                    # No wake-up call per arming (a thread switch per statement): a deadline armed
                    # meanwhile falls due `seconds` after its arming, so after this wait.
                    self._changed.wait(self.seconds)
                    continue
                idle_since = None
                connection, due = next(iter(self._due.items()))
                if due > now:
                    self._changed.wait(due - now)
                    continue
                del self._due[connection]
                _shut_down(connection, self.seconds)
            self._watching = False


def _shut_down(dbapi_connection: Any, seconds: float) -> None:
    """Shut the connection's socket down under libpq: its pending wait returns, as after a lost
    connection. The descriptor stays libpq's (shut down through a duplicate, never closed here)."""
    try:
        descriptor = dbapi_connection.pgconn.socket
        with socket.fromfd(descriptor, socket.AF_INET, socket.SOCK_STREAM) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except Exception as error:  # noqa: BLE001 - a connection already gone may raise anything; the watcher lives on
        logger.debug("round trip past its deadline already over: %s", type(error).__name__)
        return
    logger.warning("database round trip unanswered after %.1f s: connection dropped", seconds)
