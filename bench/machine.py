"""What the machine was doing: cores, load, and which other processes were busy (a shared machine).

    snapshot(exclude={...pids})  ->  {"loadavg": [...], "busy": [("pytest …", 87.0), ...]}

Taken between phases, while this benchmark's own servers are idle, so CPU seen here is somebody else's.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ticks() -> dict[int, tuple[int, str]]:
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        ticks[int(entry.name)] = (int(fields[11]) + int(fields[12]), cmd or stat.split("(")[1].split(")")[0])
    return ticks


def snapshot(exclude: set[int] | None = None, seconds: float = 1.0) -> dict[str, Any]:
    """Load average and other processes using more than 5% of a core over `seconds`."""
    mine = {os.getpid(), *(exclude or set())}
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    busy = []
    for pid, (ticks, cmd) in after.items():
        if pid in mine or pid not in before:
            continue
        share = (ticks - before[pid][0]) / TICKS / seconds * 100
        if share >= 5:
            busy.append((cmd[:90], round(share)))
    busy.sort(key=lambda item: -item[1])
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "busy": busy[:8],
            "busy_cpu_percent": sum(share for _, share in busy)}


def describe() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "kernel": platform.release()}
    try:
        model = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        info["cpu_model"] = model[0].split(":", 1)[1].strip() if model else "?"
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, ValueError):
        pass
    for name, command in {"node": ["node", "--version"], "wrk": ["wrk", "--version"],
                          "postgres": ["psql", "--version"]}.items():
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10)
            info[name] = (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            info[name] = "missing"
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                        cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        info["commit"] = "?"
    return info
