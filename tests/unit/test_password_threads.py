"""argon2 runs on a fixed set of hashing threads: memory stays at threads × block, whatever calls it."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from authgate.accounts.passwords import PasswordHasher

SCRIPT = """
import sys, threading
from authgate.accounts.passwords import PasswordHasher
def rss_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
hasher = PasswordHasher(memory_kib=19456, time_cost=2, threads=int(sys.argv[1]))
stored = hasher.hash("correct horse battery")
before = rss_mb()
for _ in range(4):  # 4 rounds of 6 logins at once, from 6 request threads
    callers = [threading.Thread(target=hasher.verify, args=(stored, "correct horse battery")) for _ in range(6)]
    for t in callers: t.start()
    for t in callers: t.join()
print(rss_mb() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_is_bounded_by_the_hashing_threads_not_the_callers():
    run = subprocess.run([sys.executable, "-c", SCRIPT, "1"], capture_output=True, text=True, check=True)
    grown = float(run.stdout)
    assert grown < 1.6 * 19, f"one hashing thread keeps at most one block; grew {grown:.1f} MB"


def test_computations_run_on_the_hashing_threads_and_errors_come_back():
    hasher = PasswordHasher(threads=1)
    seen: list[str] = []
    inner = hasher._argon2

    class Spy:
        def verify(self, stored: str, password: str) -> bool:
            seen.append(threading.current_thread().name)
            return inner.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(inner, name)

    hasher._argon2 = Spy()  # type: ignore[assignment]
    stored = hasher.hash("correct horse battery")
    assert hasher.verify(stored, "correct horse battery").ok
    assert not hasher.verify(stored, "wrong horse battery").ok, (
        "a mismatch raised on the hashing thread is a failure here"
    )
    assert seen and all(name.startswith("argon2") for name in seen)
