"""CPU cost of each protocol path inside one process, one thread, no socket: what a request costs the app.

Run by the suite against the bench database (it needs the realm of bench/realm.yaml):

    AUTHGATE_DATABASE_URL=… AUTHGATE_MASTER_KEY=… .venv/bin/python -m bench.costs

prints one JSON line. CPU time (time.process_time) moves much less than throughput when other work
shares the cores, so these figures explain the wrk results: for each path, CPU ms per request through
the real ASGI app (routing, endpoint, response; no uvicorn, no HTTP parsing), the database round trips
it makes, and the parts that cost the most, each beside a cheaper way measured in the same process
(alternating, median of rounds).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import argon2
import psycopg

from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import RevokedAccessToken
from authgate.web.app import create_app
from bench import database
from bench.config import APP_CLIENT, AUDIENCE, CC_CLIENT, REPO, SCOPE, USER, VENV_BIN

ROUNDS = 4


def _basic(client: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()


Batch = Callable[[int], Any]  # does the measured thing n times


def each(call: Callable[[], Any]) -> Batch:
    def batch(n: int) -> None:
        for _ in range(n):
            call()

    return batch


def cpu_ms(batch: Batch, n: int) -> float:
    began = time.process_time()
    batch(n)
    return (time.process_time() - began) / n * 1000


def round_trips(call: Callable[[], Any]) -> list[str]:
    """Every command and query `call` sends to PostgreSQL, in order."""
    sent: list[str] = []
    command, execute = psycopg.Connection._exec_command, psycopg.Cursor.execute

    def spy_command(self: Any, cmd: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(bytes(cmd).decode() if isinstance(cmd, bytes) else str(cmd))
        return command(self, cmd, *args, **kwargs)

    def spy_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(" ".join(str(query).split())[:60] or ";")
        return execute(self, query, *args, **kwargs)

    psycopg.Connection._exec_command, psycopg.Cursor.execute = spy_command, spy_execute  # type: ignore[method-assign]
    try:
        call()
    finally:
        psycopg.Connection._exec_command, psycopg.Cursor.execute = command, execute  # type: ignore[method-assign]
    return sent


def alternate(variants: dict[str, tuple[Callable[[], None], Batch]], n: int) -> dict[str, float]:
    """Median CPU ms per call of each variant; `setup` switches to the variant, rounds alternate."""
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, (setup, batch) in variants.items():
            setup()
            batch(5)
            results[name].append(cpu_ms(batch, n))
    return {name: round(statistics.median(values), 4) for name, values in results.items()}


class AsgiDriver:
    """Calls the real ASGI app (routing, middleware, endpoint, response) without a socket or HTTP parser."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def post(self, path: str, body: str, client: tuple[str, str]) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._post(path, body.encode(), client))

    def batch(self, path: str, body: Callable[[], str], client: tuple[str, str]) -> Batch:
        """n requests inside one task, as a server's event loop would run them (its worker threads stay up)."""

        async def many(n: int) -> None:
            for _ in range(n):
                status, answer = await self._post(path, body().encode(), client)
                if status != 200:
                    raise RuntimeError(f"{path}: unexpected {status}: {answer[:200]!r}")

        return lambda n: self.loop.run_until_complete(many(n))

    async def _post(self, path: str, body: bytes, client: tuple[str, str]) -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded"),
                             (b"content-length", str(len(body)).encode()),
                             (b"authorization", _basic(client).encode())],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def main() -> None:
    services = Services(Settings())
    app = create_app(services=services)
    driver = AsgiDriver(app)
    store = services.keys
    def ok(status_body: tuple[int, bytes]) -> bytes:
        status, body = status_body
        if status != 200:
            raise RuntimeError(f"unexpected {status}: {body[:200]!r}")
        return body

    def cc() -> bytes:
        return ok(driver.post("/oauth/token", f"grant_type=client_credentials&scope={SCOPE}", CC_CLIENT))

    token = json.loads(cc())["access_token"]

    def introspect() -> bytes:
        return ok(driver.post("/oauth/introspect", f"token={token}", CC_CLIENT))

    if json.loads(introspect()).get("active") is not True:
        raise RuntimeError("introspection of a fresh token is not active")
    cc_batch = driver.batch("/oauth/token", lambda: f"grant_type=client_credentials&scope={SCOPE}", CC_CLIENT)
    intro_batch = driver.batch("/oauth/introspect", lambda: f"token={token}", CC_CLIENT)

    def verify_only() -> Any:
        return services.access_tokens.verify(token, check_revoked=False)

    def revoked_orm() -> Any:
        with services.database.reader() as session:
            return session.get(RevokedAccessToken, "no-such-jti")

    raw = psycopg.connect(database.libpq_url(), autocommit=True)

    def revoked_raw() -> Any:
        return raw.execute("SELECT 1 FROM revoked_access_tokens WHERE jti = %s", ("no-such-jti",)).fetchone()

    prefix = "rtc-" + base64.urlsafe_b64encode(os.urandom(18)).decode() + "-"
    database.mint_refresh_tokens(
        prefix, 0, 2000, username=USER[0], client_id=APP_CLIENT[0], audience=AUDIENCE, scope=SCOPE
    )
    counter = itertools.count()

    def refresh_body() -> str:
        return f"grant_type=refresh_token&refresh_token={prefix}{next(counter):09d}"

    def refresh() -> bytes:
        return ok(driver.post("/oauth/token", refresh_body(), APP_CLIENT))

    refresh_batch = driver.batch("/oauth/token", refresh_body, APP_CLIENT)

    def nothing() -> None:
        pass

    out: dict[str, Any] = {"client_credentials": {}, "introspection": {}, "refresh": {}, "keys": {}}
    out["client_credentials"]["cpu_ms"] = alternate({"as is": (nothing, cc_batch)}, 400)["as is"]
    out["client_credentials"]["round_trips"] = round_trips(cc)
    out["introspection"]["cpu_ms"] = alternate({"as is": (nothing, intro_batch)}, 300)
    out["introspection"]["round_trips"] = round_trips(introspect)
    out["introspection"]["verify_no_db_cpu_ms"] = alternate(
        {"as is": (nothing, each(verify_only))}, 600)
    out["introspection"]["revoked_lookup_cpu_ms"] = alternate(
        {"reader() + ORM select": (nothing, each(revoked_orm)),
         "one autocommit psycopg query": (nothing, each(revoked_raw))}, 300)
    out["refresh"]["cpu_ms"] = alternate({"as is": (nothing, refresh_batch)}, 300)["as is"]
    out["refresh"]["round_trips"] = round_trips(refresh)
    password = USER[1].replace(" ", "+")
    login_batch = driver.batch("/oauth/token", lambda: f"grant_type=password&username={USER[0]}&password={password}"
                               f"&scope={SCOPE}", APP_CLIENT)
    s = services.settings
    hasher = argon2.PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib,
                                   parallelism=s.argon2_parallelism, type=argon2.Type.ID)
    stored = hasher.hash(USER[1])
    verify_alone = each(lambda: hasher.verify(stored, USER[1]))
    out["password"] = alternate({"password grant": (nothing, login_batch),
                                 "argon2-cffi verify alone": (nothing, verify_alone)}, 20)
    out["password"]["round_trips"] = round_trips(lambda: login_batch(1))
    out["keys"] = _key_reload(store)
    out["argon2_memory"] = _argon2_memory()
    raw.close()
    print(json.dumps(out))


def _key_reload(store: Any) -> dict[str, Any]:
    """One signing-key cache reload (the warmer's, off the request path, every few seconds per worker)."""
    cpu, wall = [], []
    for _ in range(5):
        c, w = time.process_time(), time.perf_counter()
        store._loaded_at = 0.0
        store._refresh()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    from authgate.oauth2 import keys

    return {"every_seconds": keys.CACHE_SECONDS, "reload_cpu_ms": round(statistics.median(cpu), 2),
            "reload_wall_ms": round(statistics.median(wall), 2)}


_ARGON2_PROBE = """
import os, sys, threading, argon2, json
from authgate.settings import Settings
from authgate.accounts.passwords import PasswordHasher
import authgate.web.app
s = Settings()
if sys.argv[1] == "authgate":
    h = PasswordHasher(s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism)
    stored = h.hash("probe")
else:
    h = argon2.PasswordHasher(
        time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib, parallelism=s.argon2_parallelism
    )
    stored = h.hash("probe")
def rss():
    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) / 1024
before, times = rss(), os.times()
for _ in range(4):
    threads = [threading.Thread(target=h.verify, args=(stored, "probe")) for _ in range(4)]
    [t.start() for t in threads]; [t.join() for t in threads]
after = os.times()
print(json.dumps({"before_mb": round(before, 1), "after_mb": round(rss(), 1),
                  "user_ms": round((after.user - times.user) / 16 * 1000, 1),
                  "system_ms": round((after.system - times.system) / 16 * 1000, 1)}))
"""


def _argon2_memory() -> dict[str, Any]:
    """RSS a process keeps after 4 rounds of 4 concurrent argon2 verifications from 4 request threads, and the CPU
    (user, system) per verification: argon2-cffi on the calling threads as is; the same with glibc's mmap threshold
    pinned (MALLOC_MMAP_THRESHOLD_=131072: blocks go back to the kernel, and are faulted in again each time); and
    authgate's PasswordHasher (a fixed set of hashing threads, one per core, that reuse their blocks)."""
    found = {}
    for label, mode, extra in (("argon2-cffi on the callers' threads", "callers", {}),
                               ("same, MALLOC_MMAP_THRESHOLD_=131072", "callers", {"MALLOC_MMAP_THRESHOLD_": "131072"}),
                               ("authgate's hashing threads", "authgate", {})):
        done = subprocess.run([str(VENV_BIN / "python"), "-c", _ARGON2_PROBE, mode], cwd=REPO, capture_output=True,
                              text=True, env={**os.environ, **extra}, timeout=120)
        found[label] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else done.stderr[-300:]
    return found


if __name__ == "__main__":
    sys.exit(main())
