"""Refresh under load while PostgreSQL is cut, then stops answering, then comes back.

Clients each hold one family and refresh in a loop; a client that gets no answer (503, or its own
timeout) retries with the same token until it gets one. Rotations that committed while their
answer was lost (cut mid-flight, or held back by the blackhole and delivered on restore) must
cost nobody their session: no family revoked, every client ends with a working token; every
error is 503 with Retry-After; no request waits longer than the database timeout allows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select
from test_token_world import COFFEE, load_world

from authgate import audit, bootstrap
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import AuditEvent, RefreshToken, User
from authgate.web.app import create_app
from testkit import TEST_MASTER_KEY, Forwarder, LiveServer, empty_postgres, free_port

TIMEOUT = 4.0  # AUTHGATE_DATABASE_TIMEOUT, its smallest value: the shortest test
MARGIN = 2.0  # scheduling on a shared 2-core machine (measured: every answer within 2.1 s)
PATIENT, IMPATIENT = 10, 4  # clients waiting up to TIMEOUT + MARGIN; clients giving up after 1 s
BLACKHOLE_SECONDS = 7.0  # longer than the reuse grace (5 s): a held-back rotation lands late


@dataclass(frozen=True)
class Answer:
    status: int
    seconds: float  # how long the request took
    at: float  # when it was answered (time.monotonic())
    retry_after: str | None


@dataclass
class Client:
    token: str
    patience: float  # the client's own timeout
    answers: list[Answer] = field(default_factory=list)
    gave_up: int = 0  # requests whose answer the client stopped waiting for
    refused: list[str] = field(default_factory=list)

    def answered(self, status: int, after: float) -> int:
        return sum(1 for answer in self.answers if answer.status == status and answer.at >= after)


@pytest.fixture
def server_behind_forwarder(pg_database, tmp_path):
    empty_postgres(pg_database)
    forwarder = Forwarder(free_port())
    forwarder.open()
    port = free_port()
    common = {"data_dir": tmp_path, "master_key": TEST_MASTER_KEY,
              "issuer": f"http://127.0.0.1:{port}", "database_timeout": TIMEOUT}
    direct = Services(Settings(database_url=pg_database, **common))
    bootstrap.prepare(direct)
    load_world(direct)
    via_forwarder = pg_database.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    assert via_forwarder != pg_database
    services = Services(Settings(database_url=via_forwarder, **common))
    server = LiveServer(create_app(services=services), port).start()
    server.services = services  # type: ignore[attr-defined]
    yield server, forwarder, direct
    forwarder.restore()
    server.stop()
    forwarder.cut()
    services.database.dispose()
    direct.database.dispose()


def families(direct: Services, count: int) -> list[str]:
    """One family per client, issued straight into the database (no argon2 per client)."""
    with direct.database.transaction() as session:
        barista = session.scalar(select(User.id).where(User.username == "barista"))
        grant = RefreshGrant(client_id="coffee-app", user_id=barista, audience=COFFEE,
                             scope=("get:drinks",))
        return [direct.oauth2.refresh_tokens.issue(session, grant) for _ in range(count)]


def refresh(http: httpx.Client, url: str, refresh_token: str) -> httpx.Response:
    return http.post(url + "/oauth/token", data={
        "grant_type": "refresh_token", "client_id": "coffee-app", "refresh_token": refresh_token})


def refresh_in_a_loop(url: str, client: Client, stop: threading.Event) -> None:
    with httpx.Client(timeout=client.patience) as http:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = refresh(http, url, client.token)
            except httpx.TimeoutException:
                client.gave_up += 1  # the answer is lost to us; the same token again
                continue
            except httpx.TransportError:
                stop.wait(0.05)
                continue
            finished = time.monotonic()
            client.answers.append(Answer(response.status_code, finished - started, finished,
                                         response.headers.get("retry-after")))
            if response.status_code == 200:
                client.token = response.json()["refresh_token"]
            elif response.status_code == 503:
                stop.wait(0.1)  # back off a little, then the same token again
            else:
                client.refused.append(response.text)
                return


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


def test_a_cut_and_a_blackhole_under_refresh_load_sign_nobody_out(server_behind_forwarder):
    server, forwarder, direct = server_behind_forwarder
    clients = [Client(token, TIMEOUT + MARGIN) for token in families(direct, PATIENT)]
    clients += [Client(token, 1.0) for token in families(direct, IMPATIENT)]
    stop = threading.Event()
    threads = [threading.Thread(target=refresh_in_a_loop, args=(server.url, client, stop))
               for client in clients]
    for thread in threads:
        thread.start()
    try:
        began = time.monotonic()
        wait_until(lambda: all(c.answered(200, began) >= 2 for c in clients), 15,
                   "every client refreshing")
        forwarder.cut()  # connections die mid-flight: some rotations commit, their answers are lost
        cut_at = time.monotonic()
        wait_until(lambda: sum(c.answered(503, cut_at) for c in clients) >= 5, 10,
                   "503s while the database is gone")
        forwarder.open()
        reopened_at = time.monotonic()
        wait_until(lambda: all(c.answered(200, reopened_at) >= 1 for c in clients), 15,
                   "back after the cut")
        forwarder.blackhole()  # connections open, nothing answered: held back, delivered on restore
        time.sleep(BLACKHOLE_SECONDS)  # how long the partition lasts: the scenario, not a wait
        forwarder.restore()
        restored_at = time.monotonic()
        wait_until(lambda: all(c.answered(200, restored_at) >= 2 or c.refused for c in clients), 20,
                   "every client back to refreshing by itself")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT + MARGIN + 5)

    assert [c.refused for c in clients if c.refused] == [], "a lost answer signed a client out"
    server.services.oauth2.issuance_log.flush()
    with direct.database.reader() as session:
        revoked = session.scalar(select(func.count()).select_from(RefreshToken)
                                 .where(RefreshToken.revoked_at.is_not(None)))
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.type.in_([audit.REFRESH_REUSED, audit.TOKEN_ISSUED]))).all()
    assert revoked == 0, "no family revoked"
    assert not [event for event in events if event.type == audit.REFRESH_REUSED]
    retried = [e for e in events if (e.detail or {}).get("refresh") == "grace_retry"]
    assert retried, "rotations whose answers were lost were retried (what this test is about)"
    with httpx.Client(timeout=10) as http:
        for client in clients:
            last = refresh(http, server.url, client.token)
            assert last.status_code == 200, last.text

    errors = {(a.status, a.retry_after) for c in clients for a in c.answers if a.status != 200}
    assert errors and all(status == 503 and retry_after for status, retry_after in errors), errors
    slowest = max(a.seconds for c in clients[:PATIENT] for a in c.answers)
    assert slowest <= TIMEOUT + MARGIN and sum(c.gave_up for c in clients[:PATIENT]) == 0, slowest
    assert sum(c.gave_up for c in clients[PATIENT:]) > 0, "impatient clients lost answers"
