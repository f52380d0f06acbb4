"""The servers under load, each a process group this runner starts and stops by its own id.

    AuthgateServer(env, port)   `authgate serve --workers 2` on PostgreSQL (uvicorn)
    GranianServer(env, port)    the same app under Granian (a Rust HTTP server), 2 workers, same database
    PeerServer(port, env)       node oidc-provider, `cluster.js PORT 2` (two workers, node:cluster)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.config import OUT, PEER_DIR, VENV_BIN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    """A server started in its own session (process group); stopped by that group's id only."""

    name = "server"
    ready_path = "/"

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.command, self.env, self.cwd, self.port = command, env, cwd, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = OUT / f"{self.name}-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Process:
        self.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = 120.0) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}:\n"
                                   + self.log.read_text()[-2000:])
            try:
                if httpx.get(self.url + self.ready_path, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} not ready on {self.url} after {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        group = process.pid  # start_new_session: the group id is the leader's pid
        os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # workers that outlived their parent
            os.killpg(group, signal.SIGKILL)

    def worker_pids(self) -> list[int]:
        """Processes of this server that serve requests (not supervisors or trackers)."""
        assert self.process is not None
        return [pid for pid in _descendants(self.process.pid) if self.is_worker(_cmdline(pid))]

    def is_worker(self, cmdline: str) -> bool:
        return True


class AuthgateServer(_Process):
    name = "authgate"
    ready_path = "/readyz"

    def __init__(self, env: dict[str, str], port: int, workers: int = 2) -> None:
        command = [str(VENV_BIN / "authgate"), "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers)]
        super().__init__(command, env, PEER_DIR.parents[2], port)

    def is_worker(self, cmdline: str) -> bool:
        # uvicorn --workers: each worker is a multiprocessing spawn child; skip the resource tracker.
        return "spawn_main" in cmdline


class GranianServer(_Process):
    """authgate's ASGI app under Granian: started after `AuthgateServer`, which prepared the database."""

    name = "granian"
    ready_path = "/readyz"

    def __init__(self, env: dict[str, str], port: int, workers: int = 2) -> None:
        command = [str(VENV_BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers), "--no-ws", "--log-level", "warning",
                   "--respawn-failed-workers", "authgate.web.app:create_app"]
        super().__init__(command, env, PEER_DIR.parents[2], port)

    def is_worker(self, cmdline: str) -> bool:
        # Granian's workers are processes spawned by its (Python) supervisor.
        return "granian" in cmdline or "spawn_main" in cmdline

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return [pid for pid in _descendants(self.process.pid) if self.is_worker(_cmdline(pid))] or [self.process.pid]


class PeerServer(_Process):
    name = "oidc-provider"
    ready_path = "/.well-known/openid-configuration"

    def __init__(self, port: int, extra_env: dict[str, str] | None = None, workers: int = 2) -> None:
        env = {**os.environ, "NODE_ENV": "production", **(extra_env or {})}
        super().__init__(["node", "cluster.js", str(port), str(workers)], env, PEER_DIR, port)

    def is_worker(self, cmdline: str) -> bool:
        return "cluster.js" in cmdline


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return sorted(found)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
