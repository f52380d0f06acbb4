"""`serve --workers N`: uvicorn's supervisor, with one SO_REUSEPORT listening socket per worker.

uvicorn's workers otherwise share the supervisor's one listening socket and race to accept on it:
the worker that wakes first takes every connection waiting (asyncio accepts up to 100 at a time),
so keep-alive connections opened together (a load balancer's pool, a load generator's) land on one
worker while the others idle — 8 of 8 on one worker in two of three loopback runs. With
SO_REUSEPORT each worker listens on a socket of its own, bound to the same address, and Linux
spreads new connections over them by a hash of their addresses.

uvicorn hands the supervisor's sockets to each worker it spawns by pickling them (uvicorn's
`_subprocess.py`); `PerWorkerSocket` pickles as its address, so each worker, when it starts (and
each replacement of a dead or restarted worker), unpickles a listening socket of its own. (This
module stays light: a worker imports it before it answers uvicorn's first health check.) The
supervisor's socket is bound but never listens: it reserves the address (a second server on it
fails at start) and is given no connections.

The cost: a connection still waiting in the accept queue of a worker that dies is reset, where a
shared socket would have let another worker take it (Linux ≥ 5.14: `net.ipv4.tcp_migrate_req = 1`
hands them over instead).
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from uvicorn import Config
from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("authgate.web")


def spreads_connections() -> bool:
    """SO_REUSEPORT balances connections across listeners on Linux only (elsewhere the last bound takes all)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def run(config: Config) -> None:
    """Serve with `config.workers` processes under uvicorn's supervisor, each on a socket of its own."""
    try:
        address = _free_address(config.host, config.port)
    except OSError as error:  # as uvicorn says it: one line, exit 1
        logger.error("cannot listen on %s:%d: %s", config.host, config.port, error.strerror or error)
        raise SystemExit(1) from None
    supervisor_socket = PerWorkerSocket(_family(config.host), socket.SOCK_STREAM)
    _reuse_port(supervisor_socket)
    supervisor_socket.bind(address)
    host, port = supervisor_socket.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    logger.info("listening on http://%s:%d: %d workers, one SO_REUSEPORT socket each", shown, port, config.workers)
    Supervisor(config, sockets=[supervisor_socket]).run()


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which also tells the metrics of every worker that is gone (replaced after
    dying or hanging, retired by a restart, stopped): its live gauges stop counting (metrics.py)."""

    def keep_subprocess_alive(self) -> None:
        running = self._pids()
        super().keep_subprocess_alive()
        self._gone(running - self._pids())

    def restart_all(self) -> None:
        running = self._pids()
        super().restart_all()
        self._gone(running - self._pids())

    def join_all(self) -> None:
        super().join_all()
        self._gone(self._pids())

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    @staticmethod
    def _gone(pids: set[int]) -> None:
        from authgate.metrics import (
            mark_worker_dead,  # not in the workers, which import this module early
        )

        for pid in pids:
            mark_worker_dead(pid)


class PerWorkerSocket(socket.socket):
    """A bound address that each process it is handed to re-opens for itself (see the module's docstring)."""

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (worker_socket, (self.family, host, port))


def worker_socket(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """In a worker: its own socket on the supervisor's address (uvicorn makes it listen)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    _reuse_port(sock)
    sock.bind((host, port))
    return sock


def _free_address(host: str, port: int) -> tuple[str, int]:
    """Bound without SO_REUSEPORT: a server already on the address (even one of ours) fails here,
    where a SO_REUSEPORT socket would silently join its group and take a share of its connections."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        bound_host, bound_port = probe.getsockname()[:2]
        return bound_host, bound_port


def _reuse_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
