"""A server process gives argon2's blocks back after hashing on several threads (issue 7's RSS limit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys, threading, argon2
from authgate.memory import release_large_blocks
def rss_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
pinned = release_large_blocks() if sys.argv[1] == "pinned" else False
hasher = argon2.PasswordHasher(memory_cost=19456, time_cost=1, parallelism=1)
stored = hasher.hash("correct horse")
before = rss_mb()
for _ in range(4):
    threads = [threading.Thread(target=hasher.verify, args=(stored, "correct horse")) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
print(pinned, rss_mb() - before)
"""


def grown_mb(mode: str) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True).stdout.split()
    return out[0], float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_hashing_on_threads_leaves_no_resident_blocks_behind():
    pinned, grown = grown_mb("pinned")
    assert pinned == "True"
    assert grown < 10, f"{grown:.1f} MB still resident after hashing"
    _, unpinned = grown_mb("as-is")
    assert unpinned > 30, f"the measurement sees glibc's dynamic threshold (grew {unpinned:.1f} MB without the fix)"
