"""Resident memory of server workers, read from /proc/PID/status (VmRSS) while load runs.

    sampler = RssSampler(server.worker_pids)
    with sampler.phase("client_credentials"):
        ...                                   # load
    sampler.peaks()  ->  {"client_credentials": {pid: peak_mb, ...}, ...}
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.25) -> None:
        self._pids = pids
        self._interval = interval
        self._peaks: dict[str, dict[int, float]] = {}
        self._idle: dict[int, float] = {}

    def idle(self) -> dict[int, float]:
        """RSS of each worker now (before load), in MB."""
        self._idle = {pid: mb for pid in self._pids() if (mb := rss_mb(pid)) is not None}
        return self._idle

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        peaks = self._peaks.setdefault(name, {})
        stop = threading.Event()
        pids = self._pids()

        def sample() -> None:
            while not stop.is_set():
                for pid in pids:
                    mb = rss_mb(pid)
                    if mb is not None and mb > peaks.get(pid, 0.0):
                        peaks[pid] = mb
                stop.wait(self._interval)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def peaks(self) -> dict[str, dict[int, float]]:
        return self._peaks

    def peak(self) -> float:
        return max((mb for per_pid in self._peaks.values() for mb in per_pid.values()), default=0.0)
