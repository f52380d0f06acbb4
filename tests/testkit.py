"""Helpers the tests share (imported as `testkit`; conftest modules are not importable by name)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import create_engine, text

from authgate.storage.models import Base

T = TypeVar("T")


def in_own_thread(call: Callable[[], T]) -> T:
    """Run `call` in a fresh thread and return its result.

    A browser test's Playwright (sync API) keeps an event loop running in the xdist worker's main
    thread for the rest of the session; `asyncio.run` and Django's `async_to_sync` refuse to run
    under it, so tests that drive an event loop of their own do it from a thread with none.
    """
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(call).result()

# TEST FIXTURE ONLY: a fixed master key so test runs are reproducible. Never use outside tests.
TEST_MASTER_KEY = "dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMhISE="


def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def forget_cli_services() -> None:
    """The CLI builds its settings and services once per process: forget them (closing the database) so that
    the next command run in this process reads its environment afresh."""
    from authgate.cli import context

    if context._services.cache_info().currsize:
        context._services().database.dispose()
    context.settings.cache_clear()
    context._services.cache_clear()
    context._require_current_schema.cache_clear()


def cli_in_process(env: dict[str, str | None]) -> Callable[..., Any]:
    """`authgate ARGS` run in this process by Typer's runner: the same commands, exit codes and output streams
    as the console script, without its interpreter start-up (~2 s a call). `env` is laid over os.environ."""
    from typer.testing import CliRunner

    from authgate.cli import app

    runner = CliRunner()

    def run(*args: str, stdin: str | None = None, check: bool = True) -> Any:
        forget_cli_services()
        try:
            result = runner.invoke(app, list(args), input=stdin, env=env)
        finally:
            forget_cli_services()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.stderr + result.stdout
        if check:
            assert result.exit_code == 0, result.stderr
        result.returncode = result.exit_code  # as subprocess.run names it
        return result

    return run


def _worker_ports() -> Iterator[int]:
    """This process's own ports: 20000-24999 on xdist's gw0, 25000-29999 on gw1, and so on; 30000-32767 without
    xdist. All lie below Linux's ephemeral range (32768-60999), so neither the other worker's `free_port` nor an
    outgoing connection's source port can take one between the check and the server's bind."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    first = 20000 + 5000 * int(worker[2:]) if worker.startswith("gw") else 30000
    return iter(range(first, min(first + 5000, 32768)))


_ports = _worker_ports()


def free_port() -> int:
    """A port of this process's own range that nothing listens on now."""
    for port in _ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("this test process used up its range of ports")


class LiveServer:
    """The real app under uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # proxy_headers off, as `authgate serve` runs it: X-Forwarded-For is authgate's to read (web/client_ip.py).
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Forwarder:
    """127.0.0.1:port → a TCP service (PostgreSQL), standing in for the network between them.

    `cut()` closes every connection and stops listening (the database is gone); `blackhole()` keeps
    every connection open, and accepts new ones, but passes nothing either way, holding it back
    until `restore()` (the database stops answering: a partition, a stuck proxy); `open()` listens
    again after a cut.
    """

    def __init__(self, port: int, upstream_port: int = 5432) -> None:
        self.port = port
        self.upstream_port = upstream_port
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._flowing = threading.Event()
        self._flowing.set()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        for sock in [self._listener, *self._sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._listener, self._sockets = None, []

    def blackhole(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self._flowing.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._sockets += [downstream, upstream]
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                self._flowing.wait()  # blackholed: held back, as TCP retransmits after a partition
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def npm_install(directory: Path, package: str) -> None:
    """`npm ci` (or `npm install` without a lock file) in `directory` unless `package` is there already.

    One npm at a time across every test process (they share ~/.npm, and two installs writing it at once
    have failed here), and one retry: the registry is a network service. Fails with npm's own message.
    """
    import fcntl
    import shutil
    import subprocess
    import tempfile

    import pytest

    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the interop tests (apt-get install nodejs npm)")
    command = [npm, "ci" if (directory / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
    with open(Path(tempfile.gettempdir()) / "authgate-tests-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in (1, 2):
            if (directory / "node_modules" / package).is_dir():
                return
            done = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=600)
            if done.returncode == 0:
                return
            if attempt == 2:
                pytest.fail(f"{' '.join(command[1:])} in {directory} failed ({done.returncode}): {done.stderr[-2000:]}")
            time.sleep(2)


@contextlib.contextmanager
def sent_to_postgresql(engine: Any) -> Iterator[dict[str, list[str]]]:
    """What `engine`'s connections send to PostgreSQL during the block (read it after the block), from
    libpq's own protocol trace (psycopg's public `pgconn.trace`): each simple query (BEGIN, COMMIT) and each
    statement parsed, in the order sent (by libpq's timestamps, across the thread's connections), by the name
    of the thread that checked the connection out. Each entry is one round trip.

    A traced checkout has psycopg's automatic statement preparation off (`prepare_threshold = None`), so
    every statement is sent with its text; preparation changes what is sent, not how many round trips."""
    from sqlalchemy import event

    sent: dict[str, list[str]] = {}  # filled when the block ends
    timed: dict[str, list[tuple[str, str]]] = {}
    traced: dict[int, tuple[str, Any, Any, int | None]] = {}

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        trace = tempfile.TemporaryFile()  # noqa: SIM115 (closed at check-in, when its trace is read)
        dbapi_connection.pgconn.trace(trace.fileno())
        traced[id(dbapi_connection)] = (threading.current_thread().name, dbapi_connection, trace,
                                        dbapi_connection.prepare_threshold)
        dbapi_connection.prepare_threshold = None

    def collect(dbapi_connection: Any, *_: Any) -> None:
        entry = traced.pop(id(dbapi_connection), None)
        if entry is None:
            return
        thread, connection, trace, threshold = entry
        if not connection.closed:
            connection.pgconn.untrace()
            connection.prepare_threshold = threshold
        trace.seek(0)
        timed.setdefault(thread, []).extend(_frontend_statements(trace.read().decode(errors="replace")))
        trace.close()

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", collect)
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", collect)
        for _, connection, _, _ in list(traced.values()):
            collect(connection)
        for thread, statements in timed.items():
            sent[thread] = [statement for _, statement in sorted(statements)]


_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+"
_MESSAGE = re.compile(rf"^(?={_STAMP}\t[FB]\t\d+\t)", re.MULTILINE)
_QUERY = re.compile(rf'({_STAMP})\tF\t\d+\tQuery\t "(.*)"\s*$', re.DOTALL)
_PARSE = re.compile(rf'({_STAMP})\tF\t\d+\tParse\t "[^"]*" "(.*)" \d+(?: \d+)*\s*$', re.DOTALL)


def _frontend_statements(trace: str) -> list[tuple[str, str]]:
    """(timestamp, statement) for each statement in a libpq trace, whitespace collapsed: a simple Query's
    text, or a Parse's."""
    statements = []
    for message in _MESSAGE.split(trace):
        found = _QUERY.match(message) or _PARSE.match(message)
        if found:
            statements.append((found.group(1), " ".join(found.group(2).split())))
    return statements
