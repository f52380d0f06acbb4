"""The raw argon2id verification rate with argon2-cffi: N processes verifying in a loop, nothing else.

This is the ceiling for password logins on the same cores (a login is one verification plus
everything around it). Run as a separate process, like the load generator:

    .venv/bin/python -m bench.argon2_rate --seconds 8 --processes 2 --memory-kib 19456 --time-cost 2 --parallelism 1

prints one JSON line: {"rps": …, "p50_ms": …, "p99_ms": …, "verifications": …}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import time

import argon2

from bench.config import REPO, VENV_BIN
from bench.load import Run, Target

PASSWORD = "correct horse battery staple 42"  # BENCH FIXTURE ONLY


def _verify_until(job: tuple[str, float, float]) -> list[float]:
    stored, start_at, end_at = job
    hasher = argon2.PasswordHasher()
    while time.time() < start_at:
        time.sleep(0.005)
    took = []
    while time.time() < end_at:
        began = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        took.append(time.perf_counter() - began)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--memory-kib", type=int, default=19456)
    parser.add_argument("--time-cost", type=int, default=2)
    parser.add_argument("--parallelism", type=int, default=1)
    args = parser.parse_args()
    stored = argon2.PasswordHasher(time_cost=args.time_cost, memory_cost=args.memory_kib,
                                   parallelism=args.parallelism, type=argon2.Type.ID).hash(PASSWORD)
    start_at = time.time() + 1.5  # after the spawned processes have imported argon2
    jobs = [(stored, start_at, start_at + args.seconds)] * args.processes
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        per_process = pool.map(_verify_until, jobs)
    took = sorted(t for times in per_process for t in times)
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    print(json.dumps({"rps": len(took) / args.seconds, "p50_ms": statistics.median(took) * 1000,
                      "p99_ms": p99 * 1000, "verifications": len(took)}))


def target(name: str, memory_kib: int, time_cost: int, parallelism: int, processes: int = 2) -> Target:
    def run(seconds: float, index: int) -> Run:
        done = subprocess.run(
            [str(VENV_BIN / "python"), "-m", "bench.argon2_rate", "--seconds", str(seconds), "--processes",
             str(processes), "--memory-kib", str(memory_kib), "--time-cost", str(time_cost),
             "--parallelism", str(parallelism)],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=seconds + 120,
        )
        data = json.loads(done.stdout.strip().splitlines()[-1])
        return Run(data["rps"], data["p50_ms"], data["p99_ms"], 0, data["verifications"])

    return Target(name, run)


if __name__ == "__main__":
    sys.exit(main())
