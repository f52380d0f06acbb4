"""Page 5,000 of a million users, through the service layer and through the admin API: the median in ms.

    .venv/bin/python bench/admin_pagination.py [--users 1000000] [--page 5000] [--size 50] [--runs 21] [--keep]

Creates its own PostgreSQL database (`authgate_bench_pagination_<pid>`,
dropped at the end unless --keep), fills it with generated users in one
`INSERT … SELECT generate_series` (usernames in an order unrelated to their
ids, one pre-computed argon2id hash for all), VACUUM ANALYZEs it, then times:

- `admin.pagination.users_page(5000, size=50)`, what the API and console
  call: from the sampled anchor (every 1,000th username) before position
  249,950, an index-only walk of under 1,000 entries, then one keyset page
  `WHERE username > … ORDER BY username LIMIT 50`;
- `GET /admin/api/users?page=5000&limit=50` on the real app over HTTP
  (token check, transactions, JSON) — the number the issue asks about;
- for comparison: `UserService.page`, the exact seek that walks the username
  index all the way to position 249,949 (an index-only scan; its plan is
  printed), and plain `OFFSET 249950` over full rows.

It checks that every way returns exactly the rows plain OFFSET returns, and
ends with one JSON line (bench/suite.py reads it).
Not part of the test suite: filling takes a minute or more.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import argon2
import httpx
import psycopg
import uvicorn

from authgate import bootstrap, masterkey
from authgate.admin.pagination import users_page
from authgate.services import Services
from authgate.settings import Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = f"authgate_bench_pagination_{os.getpid()}"  # runs at once must not drop each other's
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
RAW_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"


def create_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'.encode())
        connection.execute(f'CREATE DATABASE "{DATABASE}"'.encode())


def drop_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'.encode())


def fill(total: int) -> float:
    """`total` users in one statement; md5 prefixes make username order unrelated to id order."""
    password_hash = argon2.PasswordHasher().hash(secrets.token_urlsafe(16))
    started = time.perf_counter()
    with psycopg.connect(RAW_URL, autocommit=True) as connection:
        connection.execute(b"SET maintenance_work_mem = '256MB'")
        connection.execute(
            b"INSERT INTO users (username, subject, email, email_verified, name, password_hash, disabled, "
            b"created_at, updated_at) "
            b"SELECT 'u' || substr(md5(g::text), 1, 10) || '-' || g, gen_random_uuid()::text, "
            b"'u' || g || '@bench.example', false, "
            b"'User ' || g, %s, false, now(), now() FROM generate_series(1, %s) AS g",
            (password_hash, total),
        )
        connection.execute(b"VACUUM ANALYZE users")  # the visibility map makes index-only scans skip the heap
    return time.perf_counter() - started


def median_ms(action: Any, runs: int) -> tuple[float, list[float]]:
    for _ in range(3):
        action()  # warm caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), samples


def plan_of_seek(position: int) -> list[str]:
    with psycopg.connect(RAW_URL) as connection:
        rows = connection.execute(
            b"EXPLAIN (ANALYZE, BUFFERS) SELECT username FROM users ORDER BY username OFFSET %s LIMIT 1", (position,)
        ).fetchall()
    return [row[0] for row in rows]


def plain_offset(offset: int, size: int) -> list[str]:
    with psycopg.connect(RAW_URL) as connection:
        query = b"SELECT * FROM users ORDER BY username OFFSET %s LIMIT %s"
        rows = connection.execute(query, (offset, size)).fetchall()
    return [row[1] for row in rows]


class Server:
    """The real app under uvicorn on a free port (as tests/conftest.py's LiveServer)."""

    def __init__(self, services: Services, port: int) -> None:
        from authgate.web.app import create_app

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(services=services), host="127.0.0.1", port=port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        for _ in range(300):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=5000)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()
    position = (options.page - 1) * options.size

    create_database()
    try:
        data_dir = Path(tempfile.mkdtemp(prefix="authgate-bench-"))
        # Bench only: a throwaway master key for this throwaway database.
        settings = Settings(database_url=URL, data_dir=data_dir, master_key=masterkey.generate(),
                            issuer=f"http://127.0.0.1:{free_port()}")
        services = Services(settings)
        bootstrap.initialize(services, admin_username="bench-admin", admin_password=secrets.token_urlsafe(24))
        seconds = fill(options.users - 1)
        print(f"filled {options.users:,} users in {seconds:.1f} s")

        def by_anchor() -> list[str]:
            with services.reader() as realm:
                return [user.username for user in users_page(realm, services.user_page_anchors, options.page,
                                                                   size=options.size)]

        def by_exact_seek() -> list[str]:
            with services.reader() as realm:
                return [user.username for user in realm.users.page(options.page, size=options.size)]

        started = time.perf_counter()
        page = by_anchor()
        sample_ms = (time.perf_counter() - started) * 1000
        expected = plain_offset(position, options.size)
        assert page == expected == by_exact_seek() and len(page) == options.size, (
            "every way must return what OFFSET returns"
        )
        service_ms, _ = median_ms(by_anchor, options.runs)
        exact_ms, _ = median_ms(by_exact_seek, options.runs)
        offset_ms, _ = median_ms(lambda: plain_offset(position, options.size), options.runs)
        plan = plan_of_seek(position - 1)
        print("seek plan:\n  " + "\n  ".join(plan))

        port = int(settings.issuer.rsplit(":", 1)[1])
        with services.reader() as realm:
            admin_subject = realm.users.get("bench-admin").subject
        token = services.access_tokens.issue(subject=admin_subject, client_id="bench", audience=bootstrap.ADMIN_API,
                                             permissions=["users:read"]).token
        bearer = {"Authorization": f"Bearer {token}"}
        with Server(services, port) as server, httpx.Client(base_url=server.url, headers=bearer) as client:
            def by_api() -> None:
                response = client.get("/admin/api/users", params={"page": options.page, "limit": options.size})
                assert response.status_code == 200 and len(response.json()["items"]) == options.size, response.text

            assert [item["username"] for item in client.get("/admin/api/users", params={
                "page": options.page, "limit": options.size}).json()["items"]] == expected
            api_ms, api_samples = median_ms(by_api, options.runs)
            def first_page() -> None:
                client.get("/admin/api/users", params={"limit": options.size})

            first_ms, _ = median_ms(first_page, options.runs)
        services.database.dispose()

        print(f"page {options.page:,} (size {options.size}) of {options.users:,} users, median of {options.runs} runs:")
        print(f"  users_page (anchor + short seek + keyset):   {service_ms:.2f} ms"
              f"  (first call, sampling anchors: {sample_ms:.0f} ms)")
        print(f"  GET /admin/api/users?page={options.page} over HTTP:   {api_ms:.2f} ms  (target < 50 ms)")
        print(f"  GET /admin/api/users (page 1) over HTTP:      {first_ms:.2f} ms  (the request's fixed cost)")
        print(f"  UserService.page (exact index-only seek):    {exact_ms:.2f} ms  (for comparison)")
        print(f"  plain OFFSET {position:,} over full rows:      {offset_ms:.2f} ms  (for comparison)")
        result = {
            "users": options.users, "page": options.page, "size": options.size, "runs": options.runs,
            "fill_seconds": round(seconds, 1), "service_median_ms": round(service_ms, 2),
            "anchor_sample_ms": round(sample_ms, 1),
            "exact_seek_median_ms": round(exact_ms, 2), "api_median_ms": round(api_ms, 2),
            "api_max_ms": round(max(api_samples), 2), "api_first_page_median_ms": round(first_ms, 2),
            "plain_offset_median_ms": round(offset_ms, 2),
            "index_only_scan": any("Index Only Scan" in line for line in plan), "target_ms": 50,
            "meets_target": api_ms < 50,
        }
        print(json.dumps(result))
        return 0
    finally:
        if not options.keep:
            drop_database()


if __name__ == "__main__":
    sys.exit(main())
