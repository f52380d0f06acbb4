"""Where a server's time goes under load: py-spy samples every worker while wrk runs.

    summary = profile_under_load(server.worker_pids(), lambda: target.run(seconds, 0), seconds, "refresh")

Raw collapsed stacks go to bench/out/profile-<name>-<pid>.txt (gitignored); the summary (time by
component, top frames by own and by inclusive time, over all workers, parked threads left out) goes
into results.md. It is wall-clock time of working threads: a thread waiting for PostgreSQL counts.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.config import OUT, REPO, VENV_BIN
from bench.load import Run

RATE = 100  # Hz; py-spy pauses the process briefly per sample, so keep it modest
# Leaf frames of threads that are parked, not working: idle thread-pool workers, uvicorn's supervisor
# pong thread, lock and event waits. py-spy's own idle detection does not catch these here.
IDLE_LEAVES = ("Condition.wait (threading.py", "Event.wait (threading.py", "Connection._recv (multiprocessing",
               "Thread.join (threading.py", "Queue.get (queue.py", "_wait_for_tstate_lock")


@dataclass
class Profile:
    name: str
    samples: int = 0
    own: list[tuple[str, float]] = field(default_factory=list)  # (frame, share of samples)
    inclusive: list[tuple[str, float]] = field(default_factory=list)
    categories: list[tuple[str, float]] = field(default_factory=list)  # (what, share), by innermost known frame
    hotspots: list[tuple[str, float]] = field(default_factory=list)  # innermost authgate frames, caller > callee
    run: Run | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "samples": self.samples, "own": self.own, "inclusive": self.inclusive,
                "categories": self.categories, "hotspots": self.hotspots,
                "run": self.run.__dict__ if self.run else None, "error": self.error}


def profile_under_load(pids: list[int], load: Callable[[], Run], seconds: float, name: str, top: int = 12) -> Profile:
    OUT.mkdir(parents=True, exist_ok=True)
    recorders = []
    for pid in pids:
        output = OUT / f"profile-{name}-{pid}.txt"
        recorders.append((output, subprocess.Popen(
            [str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds) + 1),
             "--rate", str(RATE), "--format", "raw", "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )))
    profile = Profile(name)
    try:
        profile.run = load()
    finally:
        stacks: Counter[str] = Counter()
        for output, recorder in recorders:
            try:
                _, err = recorder.communicate(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                recorder.kill()
                _, err = recorder.communicate()
            if recorder.returncode != 0 or not output.exists():
                profile.error = (err or b"").decode(errors="replace").strip()[-300:] or "py-spy failed"
                continue
            for line in output.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if stack and count.isdigit():
                    stacks[stack] += int(count)
    return _summarise(profile, stacks, top)


def _summarise(profile: Profile, stacks: Counter[str], top: int) -> Profile:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    hotspots: Counter[str] = Counter()
    total = 0
    for stack, count in stacks.items():
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames or any(frames[-1].startswith(idle) for idle in IDLE_LEAVES):
            continue
        total += count
        own[frames[-1]] += count
        categories[_category(stack.split(";"))] += count
        ours = [f.split(" (")[0] for f in frames if "authgate/" in f]
        if ours:
            hotspots[" > ".join(ours[-3:])] += count
        for frame in set(frames):
            inclusive[frame] += count
    profile.samples = total
    if not total:
        return profile
    profile.own = [(frame, count / total) for frame, count in own.most_common(top)]
    profile.categories = [(what, count / total) for what, count in categories.most_common()]
    profile.hotspots = [(chain, count / total) for chain, count in hotspots.most_common(top)]
    interesting = [(f, c) for f, c in inclusive.most_common() if _ours_or_library(f)]
    profile.inclusive = [(frame, count / total) for frame, count in interesting[:top]]
    return profile


# Innermost frame that names one of these (path fragment → what it is) decides where a sample's time went.
CATEGORIES = [
    ("argon2/", "argon2id hashing (argon2-cffi)"),
    ("_argon2_cffi_bindings", "argon2id hashing (argon2-cffi)"),
    ("cryptography/", "ES256 sign/verify (cryptography)"),
    ("jwt/", "JWT encode/decode (PyJWT)"),
    ("Connection.wait (psycopg", "waiting for PostgreSQL to answer"),
    ("psycopg", "PostgreSQL driver (psycopg)"),
    ("sqlalchemy/", "ORM and SQL compilation (SQLAlchemy)"),
    ("httptools", "HTTP parsing (uvicorn/httptools)"),
    ("h11/", "HTTP parsing (uvicorn/h11)"),
    ("uvicorn/", "HTTP server (uvicorn)"),
    ("starlette/", "ASGI framework (Starlette)"),
    ("anyio/", "thread hand-off (anyio run_in_threadpool)"),
    ("pydantic", "pydantic"),
    ("json/", "JSON"),
    ("logging/", "logging"),
    ("authgate/", "authgate's own code"),
    ("Runner.run (asyncio", "event loop in C (uvloop: socket I/O, and epoll waits py-spy cannot tell apart)"),
    ("asyncio/", "event loop (asyncio)"),
    ("threading.py", "thread hand-off (anyio run_in_threadpool)"),
    ("queue.py", "thread hand-off (anyio run_in_threadpool)"),
    ("concurrent/futures", "thread hand-off (anyio run_in_threadpool)"),
]

CATEGORIES_BY_FRAGMENT = dict(CATEGORIES)


def _category(frames: list[str]) -> str:
    if "Runner.run (asyncio" in frames[-1]:
        return CATEGORIES_BY_FRAGMENT["Runner.run (asyncio"]
    for frame in reversed(frames):
        for fragment, what in CATEGORIES:
            if fragment in frame:
                return what
    return "other"


def _short(frame: str) -> str:
    """'verify (authgate/oauth2/access_tokens.py:88)' with site-packages and repo prefixes cut."""
    function, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/", str(REPO / "src") + "/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{function} ({where})" if where else function


def _ours_or_library(frame: str) -> bool:
    """Inclusive listing skips the frames every request has (event loop, threads, uvicorn plumbing)."""
    boring = ("threading.py", "asyncio/", "concurrent/futures", "anyio/_backends", "multiprocessing/",
              "uvicorn/", "<string>", "runners.py", "queue.py")
    return not any(b in frame for b in boring)
