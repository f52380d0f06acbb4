"""The benchmarks, one method each, sharing the running authgate server and the results dict.

Order (each a phase; a failing phase is recorded and the next one still runs):

    client_credentials   authgate vs oidc-provider (JWT ES256, 2 workers), interleaved runs
    introspection        authgate vs oidc-provider (opaque tokens in Redis: it cannot introspect JWTs)
    refresh              authgate, a pre-minted refresh token per request (they rotate)
    costs                bench/costs.py: CPU per call of each path in one process, no HTTP
    password             login on 1k users · raw argon2id on 2 processes · login on 1M users, interleaved
    guard                bench/guard_bench.py (guard vs PyJWT + PyJWKClient)
    admin_pagination     bench/admin_pagination.py, when present
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import traceback
from collections.abc import Callable
from typing import Any

import argon2
import httpx

from authgate import masterkey
from authgate.settings import Settings
from bench import argon2_rate, database
from bench.config import (
    APP_CLIENT,
    AUDIENCE,
    BENCH_DIR,
    CC_CLIENT,
    CONNECTIONS,
    DATABASE_URL,
    OUT,
    REDIS_URL,
    REPO,
    SCOPE,
    USER,
    VENV_BIN,
    Timing,
)
from bench.cpu import PG, REDIS, CpuMeter
from bench.load import Run, Series, Target, measure, wrk, wrk_target
from bench.machine import snapshot
from bench.memory import RssSampler
from bench.servers import AuthgateServer, GranianServer, PeerServer, free_port

CC_BODY = f"grant_type=client_credentials&scope={SCOPE}"
PASSWORD_BODY = (f"grant_type=password&username={USER[0]}&password={USER[1].replace(' ', '+')}&scope={SCOPE}")


def authgate_env(database_url: str, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    keep = {k: v for k, v in os.environ.items() if k.startswith(("AUTHGATE_ARGON2_", "AUTHGATE_LOCKOUT_"))}
    return {**base, **keep, "AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_ISSUER": f"http://127.0.0.1:{port}",
            "AUTHGATE_MASTER_KEY": masterkey.generate(), "AUTHGATE_LOG_LEVEL": "warning",
            "AUTHGATE_DATA_DIR": str(OUT / "data")}


def client_env(client: tuple[str, str], path: str, **extra: str) -> dict[str, str]:
    return {"CLIENT_ID": client[0], "CLIENT_SECRET": client[1], "TOKEN_PATH": path, **extra}


class Suite:
    def __init__(self, timing: Timing, users_large: int, log: Callable[[str], None]) -> None:
        self.timing, self.users_large, self.log = timing, users_large, log
        self.results: dict[str, Any] = {"errors": {}, "machine_during": {}, "profiles": {}}
        self.settings = Settings()
        self.port = free_port()
        self.env = authgate_env(DATABASE_URL, self.port)
        self.server: AuthgateServer | None = None
        self.rss = RssSampler(self._worker_pids)
        self.peer_pids: Callable[[], list[int]] = list
        self.peer_rss = RssSampler(lambda: self.peer_pids())

    # --- set-up ----------------------------------------------------------------------------
    def prepare(self) -> None:
        s = self.settings
        self.results["settings"] = {
            "argon2": {"memory_kib": s.argon2_memory_kib, "time_cost": s.argon2_time_cost,
                       "parallelism": s.argon2_parallelism},
            "lockout": {"account": s.lockout_account_threshold, "ip": s.lockout_ip_threshold,
                        "pair": s.lockout_pair_threshold},
            "log_level": "warning (no access log)", "workers": 2, "redis": "not configured (PostgreSQL only)",
            "client_cache_seconds": s.client_cache_seconds,
        }
        self.log("npm: installing the peer (bench/peers/oidc-provider)")
        from bench.config import PEER_DIR
        lock = PEER_DIR / "package-lock.json"
        subprocess.run(["npm", "ci" if lock.exists() else "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=PEER_DIR, check=True, stdout=subprocess.DEVNULL, timeout=300)
        self.log(f"database: fresh {DATABASE_URL.rsplit('/', 1)[1]}, authgate init + apply bench/realm.yaml")
        database.reset()
        database.set_up_realm(self.env)
        self.fill_hash = argon2.PasswordHasher(
            time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib, parallelism=s.argon2_parallelism,
            type=argon2.Type.ID).hash(secrets.token_urlsafe(16))
        database.fill_users(1000, self.fill_hash)
        self.results["users_small"] = database.user_count()
        self.server = AuthgateServer(self.env, self.port)
        self.log(f"authgate serve --workers 2 on {self.server.url}")
        self.server.start()
        self.results["rss_idle"] = self.rss.idle()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()

    def _worker_pids(self) -> list[int]:
        return self.server.worker_pids() if self.server and self.server.process else []

    def phase(self, name: str, body: Callable[[], None]) -> None:
        self.results["machine_during"][name] = snapshot()
        self.log(f"— {name} (machine: load {self.results['machine_during'][name]['loadavg']})")
        try:
            body()
        except Exception as error:  # noqa: BLE001 - recorded in results.md; the next phase still runs
            self.results["errors"][name] = f"{type(error).__name__}: {error}"
            (OUT / f"error-{name}.txt").write_text(traceback.format_exc())
            self.log(f"   FAILED: {error}")

    def _report(self, name: str, index: int, run: Run) -> None:
        label = "warm-up" if index < 0 else f"run {index + 1}"
        self.log(f"   {name:<16} {label:<8} {run.rps:9.1f} req/s  p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:8.2f} ms"
                 + (f"  errors {run.errors}" if run.errors else ""))

    def _measure(self, phase: str, targets: list[Target], groups: dict[str, Callable[[], list[int]]],
                 sides: dict[str, list[str]]) -> dict[str, Series]:
        """Run `targets` interleaved; `sides` maps a target to the CPU groups that serve it (for CPU per request)."""
        with CpuMeter(groups) as meter:
            series = measure(targets, self.timing, self._report)
        self.results.setdefault("cpu", {})[phase] = meter.cores
        per_request = {}
        for side, group_names in sides.items():
            requests = sum(r.requests for r in series[side].runs) + (series[side].warmup or Run(0, 0, 0)).requests
            cpu_seconds = sum(meter.cores.get(g, 0.0) for g in group_names) * meter.seconds
            if requests:
                per_request[side] = {"cpu_ms": cpu_seconds * 1000 / requests, "groups": group_names}
        self.results.setdefault("cpu_per_request", {})[phase] = per_request
        self.log(f"   CPU (cores) during the runs: {meter.cores}; per request: "
                 + ", ".join(f"{k} {v['cpu_ms']:.2f} ms" for k, v in per_request.items()))
        return series

    # --- token endpoint: client credentials -----------------------------------------------
    def client_credentials(self) -> None:
        assert self.server is not None
        with PeerServer(free_port()) as peer:
            self.peer_pids = peer.worker_pids
            targets = [
                wrk_target("authgate", self.server.url, client_env(CC_CLIENT, "/oauth/token", BODY=CC_BODY),
                           CONNECTIONS["client_credentials"]),
                wrk_target("oidc-provider", peer.url, client_env(CC_CLIENT, "/token", BODY=CC_BODY),
                           CONNECTIONS["client_credentials"]),
            ]
            with self.rss.phase("client_credentials"), self.peer_rss.phase("client_credentials"):
                series = self._measure("client_credentials", targets, {
                    "authgate workers": self._worker_pids, "oidc-provider workers": peer.worker_pids},
                    {"authgate": ["authgate workers"], "oidc-provider": ["oidc-provider workers"]})
        self.results["client_credentials"] = {k: v.as_dict() for k, v in series.items()}

    # --- the HTTP server: uvicorn (authgate serve) against Granian, same app and database -----------
    def servers(self) -> None:
        """Client credentials and introspection through both servers, interleaved in one run (a fair ratio)."""
        assert self.server is not None
        with GranianServer(self.env, free_port()) as granian:
            tokens = _body_file("introspect-servers", _mint(self.server.url + "/oauth/token", 256))
            _check_active(granian.url + "/oauth/introspect", tokens)
            groups = {"uvicorn workers": self._worker_pids, "granian workers": granian.worker_pids}
            found: dict[str, Any] = {}
            for scenario, path, extra, connections in (
                ("client_credentials", "/oauth/token", {"BODY": CC_BODY}, CONNECTIONS["client_credentials"]),
                ("introspection", "/oauth/introspect", {"BODY_FILE": tokens}, CONNECTIONS["introspection"]),
            ):
                targets = [wrk_target("uvicorn", self.server.url, client_env(CC_CLIENT, path, **extra), connections),
                           wrk_target("granian", granian.url, client_env(CC_CLIENT, path, **extra), connections)]
                series = self._measure(f"servers_{scenario}", targets, groups,
                                       {"uvicorn": ["uvicorn workers"], "granian": ["granian workers"]})
                found[scenario] = {k: v.as_dict() for k, v in series.items()}
        self.results["servers"] = found

    # --- introspection --------------------------------------------------------------------
    def introspection(self) -> None:
        assert self.server is not None
        prefix = f"authgate-bench-{secrets.token_hex(4)}:"
        peer_env = {"PEER_ACCESS_TOKEN_FORMAT": "opaque", "PEER_REDIS_URL": REDIS_URL, "PEER_REDIS_PREFIX": prefix}
        try:
            with PeerServer(free_port(), peer_env) as peer:
                self.peer_pids = peer.worker_pids
                ours = _body_file("introspect-authgate", _mint(self.server.url + "/oauth/token", 256))
                theirs = _body_file("introspect-peer", _mint(peer.url + "/token", 256))
                targets = [
                    wrk_target("authgate", self.server.url,
                               client_env(CC_CLIENT, "/oauth/introspect", BODY_FILE=ours),
                               CONNECTIONS["introspection"]),
                    wrk_target("oidc-provider", peer.url,
                               client_env(CC_CLIENT, "/token/introspection", BODY_FILE=theirs),
                               CONNECTIONS["introspection"]),
                ]
                _check_active(self.server.url + "/oauth/introspect", ours)
                _check_active(peer.url + "/token/introspection", theirs)
                with self.rss.phase("introspection"), self.peer_rss.phase("introspection"):
                    series = self._measure("introspection", targets, {
                        "authgate workers": self._worker_pids, "oidc-provider workers": peer.worker_pids},
                        {"authgate": ["authgate workers", PG], "oidc-provider": ["oidc-provider workers", REDIS]})
        finally:
            _drop_redis_prefix(prefix)
        self.results["introspection"] = {k: v.as_dict() for k, v in series.items()}

    # --- refresh --------------------------------------------------------------------------
    def refresh(self) -> None:
        assert self.server is not None
        pool = RefreshPool(self.server.url, self.timing)
        with self.rss.phase("refresh"):
            series = self._measure("refresh", [Target("authgate", pool.run, pool.before)],
                                   {"authgate workers": self._worker_pids}, {"authgate": ["authgate workers", PG]})
        self.results["refresh"] = {"authgate": series["authgate"].as_dict(), "pool_minted": pool.minted}

    def refresh_load(self, seconds: float) -> Callable[[], Run]:
        """A fresh pool and one run, for profiling."""
        assert self.server is not None
        pool = RefreshPool(self.server.url, self.timing, profile=True)
        pool.before(0)
        return lambda: pool.run(seconds, 0)

    # --- password logins, raw argon2, 1k vs 1M users -------------------------------------------
    def password(self) -> None:
        assert self.server is not None
        large_url = DATABASE_URL + "_large"
        large_port = free_port()
        large_env = authgate_env(large_url, large_port)
        self.log(f"   second database with {self.users_large:,} users (INSERT … SELECT generate_series)")
        database.reset(suffix="_large")
        database.set_up_realm(large_env)
        added = database.fill_users(self.users_large, self.fill_hash, suffix="_large")
        self.results["users_large"] = database.user_count(suffix="_large")
        self.log(f"   filled {added:,} users")
        s = self.settings
        try:
            with AuthgateServer(large_env, large_port) as large:
                large_rss = RssSampler(large.worker_pids)
                body = client_env(APP_CLIENT, "/oauth/token", BODY=PASSWORD_BODY)
                targets = [
                    wrk_target("authgate-1k", self.server.url, body, CONNECTIONS["password"]),
                    argon2_rate.target("argon2-raw", s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism),
                    wrk_target("authgate-1m", large.url, body, CONNECTIONS["password"]),
                ]
                with self.rss.phase("password"), large_rss.phase("password"):
                    series = self._measure("password", targets, {
                        "authgate workers (1k users)": self._worker_pids,
                        "authgate workers (1M users)": large.worker_pids},
                        {"authgate-1k": ["authgate workers (1k users)"],
                         "authgate-1m": ["authgate workers (1M users)"]})
                self.results["rss_large"] = large_rss.peaks()
        finally:
            database.drop(suffix="_large")
        self.results["password"] = {k: v.as_dict() for k, v in series.items()}

    def password_load(self, seconds: float) -> Callable[[], Run]:
        assert self.server is not None
        url, body = self.server.url, client_env(APP_CLIENT, "/oauth/token", BODY=PASSWORD_BODY)
        return lambda: wrk(url, body, connections=CONNECTIONS["password"], seconds=seconds)

    def load_for(self, name: str, seconds: float) -> Callable[[], Run]:
        """The authgate side of a benchmark, as one run, for profiling a miss."""
        assert self.server is not None
        url = self.server.url
        if name == "client_credentials":
            env = client_env(CC_CLIENT, "/oauth/token", BODY=CC_BODY)
        elif name == "introspection":
            env = client_env(CC_CLIENT, "/oauth/introspect", BODY_FILE=str(OUT / "introspect-authgate.txt"))
        elif name == "refresh":
            return self.refresh_load(seconds)
        else:
            return self.password_load(seconds)
        return lambda: wrk(url, env, connections=CONNECTIONS[name], seconds=seconds)

    # --- in-process cost of each path (bench/costs.py, its own process) ------------------------
    def costs(self) -> None:
        done = subprocess.run([str(VENV_BIN / "python"), "-m", "bench.costs"], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=600)
        (OUT / "costs.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"bench.costs failed: {done.stderr[-600:]}")
        self.results["costs"] = json.loads(done.stdout.strip().splitlines()[-1])

    # --- guard and admin pagination (their own scripts) -------------------------------------
    def guard(self) -> None:
        self.results["guard"] = _json_script(BENCH_DIR / "guard_bench.py", [], timeout=600)

    def admin_pagination(self) -> None:
        script = BENCH_DIR / "admin_pagination.py"
        if not script.exists():
            self.results["admin_pagination"] = {"missing": True}
            return
        self.results["admin_pagination"] = _json_script(script, [], timeout=600)


class RefreshPool:
    """Refresh tokens minted straight into the database, a fresh range per run, sized from the warm-up rate."""

    def __init__(self, url: str, timing: Timing, profile: bool = False) -> None:
        self.url, self.timing = url, timing
        self.prefix = ("rtp-" if profile else "rt-") + secrets.token_urlsafe(24) + "-"
        self.next = 0
        self.rate = 5000.0  # req/s assumed until the warm-up says otherwise
        self.start: dict[int, int] = {}
        self.minted = 0

    def before(self, index: int) -> None:
        seconds = self.timing.warmup if index < 0 else self.timing.duration
        count = int(self.rate * 2 * seconds) + 5000
        database.mint_refresh_tokens(self.prefix, self.next, count, username=USER[0], client_id=APP_CLIENT[0],
                                     audience=AUDIENCE, scope=SCOPE)
        self.start[index] = self.next
        self.next += count
        self.minted += count

    def run(self, seconds: float, index: int) -> Run:
        body = f"grant_type=refresh_token&refresh_token={self.prefix}%09d"
        env = client_env(APP_CLIENT, "/oauth/token", SEQ_BODY=body, SEQ_START=str(self.start[index]), SEQ_THREADS="1")
        result = wrk(self.url, env, connections=CONNECTIONS["refresh"], seconds=seconds)
        if index < 0:
            self.rate = max(result.rps, 200.0)
        return result


def _mint(token_url: str, count: int) -> list[str]:
    with httpx.Client(auth=CC_CLIENT, timeout=30) as client:
        tokens = []
        for _ in range(count):
            answer = client.post(token_url, data={"grant_type": "client_credentials", "scope": SCOPE})
            answer.raise_for_status()
            tokens.append(answer.json()["access_token"])
        return tokens


def _body_file(name: str, tokens: list[str]) -> str:
    path = OUT / f"{name}.txt"
    path.write_text("".join(f"token={token}\n" for token in tokens))
    return str(path)


def _check_active(url: str, body_file: str) -> None:
    with open(body_file) as lines:
        first = lines.readline().strip().split("=", 1)[1]
    answer = httpx.post(url, data={"token": first}, auth=CC_CLIENT, timeout=30)
    if answer.status_code != 200 or answer.json().get("active") is not True:
        raise RuntimeError(f"introspection at {url} did not say active: {answer.status_code} {answer.text[:200]}")


def _drop_redis_prefix(prefix: str) -> None:
    try:
        import redis
    except ImportError:
        return
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


def _json_script(script: Any, args: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run([str(VENV_BIN / "python"), str(script), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    (OUT / f"{script.stem}.log").write_text(done.stdout + done.stderr)
    for line in reversed(done.stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            data["exit_code"] = done.returncode
            data["printed"] = done.stdout.strip().splitlines()[:-1][-12:]
            return data
    raise RuntimeError(f"{script.name} printed no JSON line (exit {done.returncode}): {done.stderr[-400:]}")
