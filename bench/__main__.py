"""Run every benchmark and write bench/results.md and bench/plots/*.png.

    .venv/bin/python -m bench [--quick] [--users 1000000] [--keep-db] [--no-profile] [--only NAME …]
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import time
from typing import Any

from bench import database
from bench.config import FULL, OUT, PLOTS, QUICK, RESULTS_MD
from bench.cpu import CpuMeter
from bench.figures import headline
from bench.machine import describe, snapshot
from bench.profile import profile_under_load
from bench.suite import Suite

PHASES = ["client_credentials", "introspection", "refresh", "costs", "password", "guard", "admin_pagination", "servers"]
PROFILED = {"client_credentials", "introspection", "refresh", "password"}  # server-side: py-spy on the workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (2 s warm-up, 2 × 3 s), to try the runner")
    parser.add_argument("--users", type=int, default=1_000_000, help="users in the large database")
    parser.add_argument("--keep-db", action="store_true", help="keep authgate_bench after the run")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy profiles of missed targets")
    parser.add_argument("--only", nargs="*", choices=PHASES, help="run only these benchmarks")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite results.md and the plots from bench/out/results.json")
    args = parser.parse_args()
    if args.report_only:
        write_outputs(json.loads((OUT / "results.json").read_text()))
        return 0
    for tool in ("wrk", "node", "npm"):
        if shutil.which(tool) is None:
            print(f"bench: `{tool}` is not installed", file=sys.stderr)
            return 2

    OUT.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    timing = QUICK if args.quick else FULL
    start = snapshot()
    results: dict[str, Any] = {}

    def log(line: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {line}", flush=True)

    suite = Suite(timing, args.users, log)
    results = suite.results
    results.update(started=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                   timing=timing.__dict__, machine=describe(), load_start=start["loadavg"])
    log(f"machine: load {start['loadavg']}, busy others: {start['busy'][:3]}")
    try:
        suite.prepare()
        for name in args.only or PHASES:
            suite.phase(name, getattr(suite, name))
        results["rss_peaks"], results["peer_rss"] = suite.rss.peaks(), suite.peer_rss.peaks()
        figures = headline(results)
        if not args.no_profile:
            for key in sorted({f.key for f in figures if f.met is False} & PROFILED):
                if key in results["errors"]:
                    continue
                log(f"— profile of {key} (target missed): py-spy on both workers")
                seconds = timing.duration
                try:
                    with CpuMeter({"authgate workers": suite._worker_pids}) as meter:
                        profile = profile_under_load(suite._worker_pids(), suite.load_for(key, seconds), seconds, key)
                    results["profiles"][key] = {**profile.as_dict(), "cpu": meter.cores}
                except (OSError, RuntimeError) as error:  # py-spy missing or not permitted: say so, go on
                    results["profiles"][key] = {"name": key, "samples": 0, "error": f"{type(error).__name__}: {error}"}
    finally:
        suite.close()
        if not args.keep_db:
            database.drop()

    end = snapshot()
    others = [snap.get("busy_cpu_percent", 0) for snap in results["machine_during"].values()] + [
        start["busy_cpu_percent"], end["busy_cpu_percent"]]
    during = [cores.get("everything else", 0.0) for cores in (results.get("cpu") or {}).values()]
    results.update(load_end=end["loadavg"], elapsed_s=time.monotonic() - began,
                   others_cpu_percent=sum(others) / len(others),
                   others_cores_during=sum(during) / len(during) if during else None,
                   shared=max(others) >= 20 or max(during, default=0.0) >= 0.2)
    results["rss_peaks"], results["peer_rss"] = suite.rss.peaks(), suite.peer_rss.peaks()
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_outputs(json.loads(json.dumps(results, default=str)))
    log(f"wrote {RESULTS_MD.relative_to(RESULTS_MD.parents[1])} and {PLOTS.relative_to(PLOTS.parents[1])}/*.png")
    return 0


def write_outputs(results: dict[str, Any]) -> None:
    from bench import plots, report  # matplotlib only now: the measurements never wait for it

    figures = headline(results)
    plots.draw(results, figures, PLOTS)
    RESULTS_MD.write_text(report.write(results, figures))
    for f in figures:
        mark = {True: "met", False: "MISSED", None: "n/a"}[f.met]
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        print(f"  {f.name:<42} {ratio:>8} {f.ratio_label:<9} target {'≤' if f.at_most else '≥'} {f.target:g}: {mark}")


if __name__ == "__main__":
    sys.exit(main())
