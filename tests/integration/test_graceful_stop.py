"""A graceful stop writes every queued `token.issued` audit event (oauth2/issuance_log.py, web/app.py's lifespan).

The events are written in batches, up to `audit_flush_seconds` after the token; uvicorn re-raises
SIGTERM once its graceful shutdown is done, so a process would die with them still queued if the
lifespan did not write them. Here `authgate serve --workers 2` runs as users run it, takes
client_credentials grants from several threads, and is stopped mid-load — SIGTERM, Ctrl-C (SIGINT to
the process group), or uvicorn's worker restart (SIGHUP) then SIGTERM: every 200 must have its audit row.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from sqlalchemy import func, select
from test_token_world import REPORT_SECRET, basic, load_world

from authgate import audit
from authgate.oauth2 import issuance_log
from authgate.oauth2.issuance_log import IssuanceLog
from authgate.services import Services
from authgate.storage.database import DatabaseUnavailable
from authgate.storage.models import AuditEvent
from testkit import TEST_MASTER_KEY, free_port

LOAD_THREADS = 6
RESPONSES_BEFORE_SIGTERM = 300


def issued_rows(services: Services) -> int:
    with services.database.reader() as session:
        return session.scalar(select(func.count()).where(AuditEvent.type == audit.TOKEN_ISSUED)) or 0


@contextmanager
def serving(
    database_url: str, tmp_path: Path, *args: str, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`authgate serve ARGS` in a process of its own; its stderr (uvicorn's and authgate's log) in a file."""
    port = free_port()
    env = {**os.environ, "AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
           "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY, "AUTHGATE_ISSUER": f"http://127.0.0.1:{port}",
           **{f"AUTHGATE_{name.upper()}": value for name, value in settings.items()}}
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "authgate", "serve", "--port", str(port), *args],
                                   env=env, stdout=stderr, stderr=stderr, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url, log)
        yield process, url, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60  # two spawned workers import the server: slow on a busy machine
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("authgate serve did not start:\n" + log.read_text())


class Load:
    """Threads asking for client_credentials tokens until stopped; a refused or closed connection is retried."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ok = 0
        self.other: list[str] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(LOAD_THREADS)]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        headers = basic("nightly-report", REPORT_SECRET)
        with httpx.Client(timeout=30) as client:
            while not self._stopped.is_set():
                try:
                    response = client.post(self.url + "/oauth/token", data={"grant_type": "client_credentials"},
                                           headers=headers)
                except httpx.TransportError:  # a worker or the server stopping: no answer, no token
                    self._stopped.wait(0.01)
                    continue
                with self._lock:
                    if response.status_code == 200:
                        self.ok += 1
                    else:
                        self.other.append(f"{response.status_code} {response.text[:200]}")

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while self.ok < count:
            assert time.monotonic() < deadline, f"only {self.ok} tokens issued; {self.other[:3]}"
            assert not self.other, self.other[:3]
            time.sleep(0.01)


def workers_of(supervisor: int) -> list[int]:
    """The worker processes of `authgate serve --workers N` (not multiprocessing's resource tracker)."""
    children = []
    for task in Path(f"/proc/{supervisor}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    return [pid for pid in children if _is_worker(pid)]


def _is_worker(pid: int) -> bool:
    try:
        return b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # it has just exited
        return False


def restart_workers(process: subprocess.Popen[bytes]) -> None:
    """uvicorn's worker restart (SIGHUP): each worker replaced, the old one stopped with SIGTERM."""
    old = set(workers_of(process.pid))
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while old & set(workers_of(process.pid)) or len(workers_of(process.pid)) != len(old):
        assert time.monotonic() < deadline, "the workers were not replaced"
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], how: str, load: Load) -> None:
    if how == "restart, then SIGTERM":
        restart_workers(process)
        load.wait_for(load.ok + RESPONSES_BEFORE_SIGTERM // 3)  # the new workers issue tokens too
    if how == "Ctrl-C":
        os.killpg(process.pid, signal.SIGINT)  # the terminal signals the whole process group
    else:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


@pytest.mark.parametrize(("backend", "how"), [
    ("sqlite", "SIGTERM"), ("postgresql", "SIGTERM"),
    ("sqlite", "Ctrl-C"), ("sqlite", "restart, then SIGTERM"),  # the other ways to stop: one database is enough
], indirect=["backend"])
def test_a_graceful_stop_under_load_writes_an_audit_row_for_every_token(services, database_url, tmp_path, how):
    load_world(services)
    # Batches every 10 s (or of 500): at the stop most events are still queued, and only the
    # lifespan's close() can write them.
    with serving(database_url, tmp_path, "--workers", "2", audit_flush_seconds="10") as (process, url, log):
        with Load(url) as load:
            load.wait_for(RESPONSES_BEFORE_SIGTERM)
            stop(process, how, load)
        output = log.read_text()
    assert not load.other, load.other[:3]
    assert "Traceback" not in output and "lost" not in output, output
    assert issued_rows(services) == load.ok, f"{load.ok} tokens answered, {issued_rows(services)} audited\n{output}"


class Outage:
    """`database.transaction()` failing as an outage does, `failures` times."""

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch, failures: int) -> None:
        self.failures = failures
        transaction = services.database.transaction

        @contextmanager
        def failing() -> Iterator[Any]:
            if self.failures > 0:
                self.failures -= 1
                raise DatabaseUnavailable("OperationalError")
            with transaction() as session:
                yield session

        monkeypatch.setattr(services.database, "transaction", failing)


class Clock:
    """The log's monotonic clock, moved by its own sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def record(log: IssuanceLog, count: int) -> None:
    for n in range(count):
        log.record(subject=f"stop-{n}", client_id="nightly-report", grant_type="client_credentials", ip="::1")


def test_close_retries_an_outage_then_writes_everything(services, monkeypatch):
    clock = Clock()
    log = IssuanceLog(services.database, flush_delay=60, monotonic=clock.monotonic, sleep=clock.sleep)
    record(log, 3)
    Outage(services, monkeypatch, failures=2)
    assert log.close() == 3
    assert clock.sleeps == [issuance_log.RETRY_DELAY] * 2
    assert issued_rows(services) == 3


def test_close_gives_up_after_a_bounded_time_and_says_how_many_were_lost(services, monkeypatch, caplog):
    clock = Clock()
    log = IssuanceLog(services.database, flush_delay=60, monotonic=clock.monotonic, sleep=clock.sleep)
    record(log, 7)
    Outage(services, monkeypatch, failures=1_000)
    with caplog.at_level(logging.WARNING, logger="authgate.audit"):
        assert log.close() == 0
    assert sum(clock.sleeps) <= issuance_log.CLOSE_RETRY_SECONDS and len(clock.sleeps) >= 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "7 token.issued events lost" in errors[0], errors
    assert issued_rows(services) == 0


def test_a_failed_flush_is_retried_without_waiting_for_the_next_token(services, monkeypatch):
    """During an outage the kept events are written once the database is back, even if no token follows."""
    monkeypatch.setattr(issuance_log, "RETRY_DELAY", 0.01)
    log = IssuanceLog(services.database, flush_delay=0.01)
    outage = Outage(services, monkeypatch, failures=1)
    record(log, 2)  # the flush timer's write meets the outage; only the retry can write them
    deadline = time.monotonic() + 10
    while issued_rows(services) < 2:
        assert time.monotonic() < deadline, "the retry timer wrote nothing"
        time.sleep(0.02)
    assert outage.failures == 0
    log.close()
