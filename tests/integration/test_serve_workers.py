"""`authgate serve --workers 2`: each worker listens on a socket of its own (SO_REUSEPORT, web/workers.py),
so connections opened together spread over the workers instead of all landing on the first to wake;
a second server on the same address still fails to start; a worker killed with SIGKILL is replaced,
on a socket of its own again.

Read from /proc: which listening sockets each worker holds, and how many connections.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_graceful_stop import serving, workers_of

from testkit import TEST_MASTER_KEY

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux"
)

CONNECTIONS = 16  # all on one worker by chance: 2 in 2^16


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:  # it has just exited
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def tcp_sockets(port: int) -> dict[str, tuple[str, str]]:
    """inode → (state, remote port) of the TCP sockets whose local port is `port`."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found[fields[9]] = (fields[3], fields[2].rsplit(":", 1)[1])
    return found


LISTEN, ESTABLISHED = "0A", "01"


def listeners_and_connections(pid: int, port: int) -> tuple[set[str], int]:
    mine = socket_inodes(pid)
    sockets = {inode: state for inode, (state, _) in tcp_sockets(port).items() if inode in mine}
    return ({inode for inode, state in sockets.items() if state == LISTEN},
            sum(state == ESTABLISHED for state in sockets.values()))


def wait_for_workers(supervisor: int, port: int, count: int, gone: int | None = None) -> list[int]:
    """The supervisor's workers once `count` of them listen (and `gone` is no longer one of them)."""
    deadline = time.monotonic() + 60
    while True:
        workers = workers_of(supervisor)
        listening = all(listeners_and_connections(pid, port)[0] for pid in workers)
        if len(workers) == count and gone not in workers and listening:
            return workers
        assert time.monotonic() < deadline, f"workers: {workers}"
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no storage involved: one database is enough
def test_workers_listen_on_sockets_of_their_own_and_share_connections(database_url, tmp_path):
    with serving(database_url, tmp_path, "--workers", "2") as (process, url, log):
        port = int(url.rsplit(":", 1)[1])
        workers = wait_for_workers(process.pid, port, 2)
        listeners = [listeners_and_connections(pid, port)[0] for pid in workers]
        assert all(len(each) == 1 for each in listeners) and listeners[0] != listeners[1], listeners

        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]  # at once, as wrk
        try:
            deadline = time.monotonic() + 15
            while sum(held := [listeners_and_connections(pid, port)[1] for pid in workers]) < CONNECTIONS:
                assert time.monotonic() < deadline, held
                time.sleep(0.05)
            assert all(held), f"every connection on one worker: {held}"
        finally:
            for connection in connections:
                connection.close()

        second = subprocess.run([sys.executable, "-m", "authgate", "serve", "--port", str(port), "--workers", "2"],
                                env={**os.environ, "AUTHGATE_DATABASE_URL": database_url,
                                     "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
                                     "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY},
                                capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 1 and "Address already in use" in second.stderr, "not silently sharing the port"
        assert "Traceback" not in second.stderr, second.stderr

        os.kill(workers[0], signal.SIGKILL)
        replaced = wait_for_workers(process.pid, port, 2, gone=workers[0])
        assert workers[1] in replaced
        new_listeners = [listeners_and_connections(pid, port)[0] for pid in replaced]
        assert new_listeners[0] != new_listeners[1], "the replacement listens on a socket of its own"
        assert httpx.get(url + "/healthz").status_code == 200
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()
