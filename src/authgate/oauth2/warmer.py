"""Keeps the in-memory caches of the hot paths loaded, from one background thread per process.

The token and introspection endpoints answer on the event loop, with no I/O,
when what they need is in memory: the signing keys (oauth2/keys.py), the
client record (oauth2/client_directory.py) and the revoked-jti mirror
(oauth2/revocation_list.py). Each of those caches expires after a few
seconds so that changes made by other processes are seen. Without a warmer,
the first requests after an expiry would each go to the threadpool and
reload the same thing at once (a thundering herd every few seconds, visible
in the client_credentials profile). With it, one thread reloads each cache
shortly *before* it expires; requests keep finding it fresh and never wait.

Every cache still reloads by itself when read cold (tests, the CLI, a
server whose warmer is not running), so the warmer changes only when the
work is done, never what is answered. A failed reload (database down) is
logged once per outage and retried on the next tick; the caches then expire
and the endpoints answer 503 as usual.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger("authgate.oauth2")

TICK_SECONDS = 0.2
THREAD_NAME = "authgate-cache-warmer"


class Warmer:
    def __init__(self, tasks: list[Callable[[], None]], tick: float = TICK_SECONDS) -> None:
        self._tasks = tasks
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run_once(self) -> None:
        """One tick: every task reloads its cache if it is close to expiring."""
        failed = False
        for task in self._tasks:
            try:
                task()
            except Exception as error:  # noqa: BLE001 - a failing task may raise anything; the warmer lives on
                failed = True
                if not self._failing:
                    name = getattr(task, "__qualname__", task)
                    logger.warning("cache warmer: %s failed: %s", name, type(error).__name__)
        if self._failing and not failed:
            logger.info("cache warmer: reloading again")
        self._failing = failed

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            self.run_once()
