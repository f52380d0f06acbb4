"""Who used the CPU while a benchmark ran: the servers, PostgreSQL, the load generator, everybody else.

    with CpuMeter({"authgate": server.worker_pids, "oidc-provider": peer.worker_pids}) as meter:
        ...load...
    meter.cores  ->  {"authgate": 1.21, "PostgreSQL (bench)": 0.3, "load generator": 0.4, "other": 0.1, "idle": 0.0}

Long-lived processes are read from /proc/PID/stat; the load generator (wrk, argon2-raw: this runner's
children, reaped during the window) from getrusage(RUSAGE_CHILDREN); the machine total from /proc/stat.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bench.config import DATABASE

TICKS = os.sysconf("SC_CLK_TCK")
PG = "PostgreSQL (bench databases)"
REDIS = "Redis"


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from the first line of /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def _process_ticks() -> dict[int, tuple[int, str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12]), cmd)
    return found


class CpuMeter:
    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.cores: dict[str, float] = {}
        self.seconds = 0.0

    def __enter__(self) -> CpuMeter:
        self._pids = {name: set(pids()) for name, pids in self.groups.items()}
        self._start = (time.monotonic(), _machine_ticks(), _process_ticks(), _children_seconds())
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        began, (busy0, total0), procs0, children0 = self._start
        seconds = self.seconds = time.monotonic() - began
        busy1, total1 = _machine_ticks()
        procs1 = _process_ticks()
        cores = (os.cpu_count() or 1)
        used: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        used[PG] = used[REDIS] = 0.0
        used["load generator (wrk, argon2-raw, py-spy)"] = (_children_seconds() - children0) / seconds
        for pid, (ticks, cmd) in procs1.items():
            before = procs0[pid][0] if pid in procs0 else 0  # started during the window: all of its time
            share = (ticks - before) / TICKS / seconds
            group = next((name for name, pids in self._pids.items() if pid in pids), None)
            if group is None and cmd.startswith("postgres:") and f" {DATABASE}" in cmd:
                group = PG
            elif group is None and cmd.startswith("redis-server"):
                group = REDIS
            if group is not None:
                used[group] += share
        machine_busy = (busy1 - busy0) / max(1, total1 - total0) * cores
        used["everything else"] = max(0.0, machine_busy - sum(used.values()))
        used["idle"] = max(0.0, cores - machine_busy)
        self.cores = {name: round(value, 2) for name, value in used.items()}


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
