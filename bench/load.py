"""Load from a separate process (wrk), interleaved between the sides compared, median of the runs.

    series = measure([ours, peer], timing)    # warm each up, then run ours, peer, ours, peer, …

Interleaving matters on a shared machine: whatever else is running slows
neighbouring runs of both sides alike, so their ratio stays meaningful.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.config import LUA, Timing

_RESULT = re.compile(r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) errors=(\d+) requests=(\d+)")


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    requests: int = 0


@dataclass
class Series:
    """The runs of one side; figures are medians over runs."""

    name: str
    runs: list[Run] = field(default_factory=list)
    warmup: Run | None = None

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "rps": self.rps, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
                "errors": self.errors, "runs": [r.__dict__ for r in self.runs],
                "warmup": self.warmup.__dict__ if self.warmup else None}


@dataclass
class Target:
    """One side of a comparison: `run(seconds, index)` does one timed run (index -1: warm-up)."""

    name: str
    run: Callable[[float, int], Run]
    before: Callable[[int], None] | None = None  # called before each run, outside the timing


def measure(
    targets: list[Target], timing: Timing, on_run: Callable[[str, int, Run], None] | None = None
) -> dict[str, Series]:
    series = {t.name: Series(t.name) for t in targets}
    for target in targets:
        if target.before:
            target.before(-1)
        series[target.name].warmup = target.run(timing.warmup, -1)
        if on_run:
            on_run(target.name, -1, series[target.name].warmup)  # type: ignore[arg-type]
    for index in range(timing.runs):
        for target in targets:
            if target.before:
                target.before(index)
            result = target.run(timing.duration, index)
            series[target.name].runs.append(result)
            if on_run:
                on_run(target.name, index, result)
    return series


def wrk(url: str, env: dict[str, str], *, connections: int, seconds: float, threads: int = 1) -> Run:
    """One wrk run of bench/lua/form.lua; env carries CLIENT_ID, CLIENT_SECRET, TOKEN_PATH, BODY…"""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "--latency", "-s", str(LUA), url]
    done = subprocess.run(command, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True,
                          timeout=seconds + 60)
    match = _RESULT.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
    rps, p50, p99, errors, requests = match.groups()
    return Run(float(rps), float(p50), float(p99), int(errors), int(requests))


def wrk_target(name: str, url: str, env: dict[str, str] | Callable[[int], dict[str, str]], connections: int,
               before: Callable[[int], None] | None = None) -> Target:
    def run(seconds: float, index: int) -> Run:
        return wrk(url, env(index) if callable(env) else env, connections=connections, seconds=seconds)

    return Target(name, run, before)
