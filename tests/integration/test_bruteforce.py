"""Brute-force protection across TWO server processes sharing one database (and Redis), over real HTTP.

Addresses are simulated with X-Forwarded-For from a trusted proxy (127.0.0.1).
Requests alternate between the two servers, so a counter kept per process
would lock only about twice as late: the exact counts below prove sharing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest
from test_token_world import HTTP, PASSWORD, load_world, start_server

from testkit import TEST_MASTER_KEY

__all__ = ["start_server"]
REDIS = "redis://127.0.0.1:6379/0"
REDIS_DOWN = "redis://127.0.0.1:1/0"  # nothing listens there
ATTACKER, SPRAYER, OWNER = "203.0.113.7", "203.0.113.99", "198.51.100.20"
LIMITS = {
    "trusted_proxies": ["127.0.0.1/32"], "lockout_pair_threshold": 5, "lockout_account_threshold": 8,
    "lockout_ip_threshold": 10, "lockout_base_delay": 60.0, "lockout_max_duration": 600,
}


@pytest.fixture(params=["database", "redis", "redis-down"])
def counters(request: pytest.FixtureRequest):
    if request.param == "database":
        yield {}
        return
    prefix = f"authgate-test-{uuid.uuid4().hex}:"
    yield {"redis_url": REDIS if request.param == "redis" else REDIS_DOWN, "redis_key_prefix": prefix}
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def attempt(server, username: str, password: str, address: str) -> httpx.Response:
    return HTTP.post(server.url + "/oauth/token", headers={"X-Forwarded-For": address}, timeout=30, data={
        "grant_type": "password", "client_id": "coffee-app", "username": username, "password": password})


def cli(server, counters: dict, *args: str) -> dict | list:
    settings = server.services.settings
    env = {
        **os.environ, "AUTHGATE_DATABASE_URL": settings.resolved_database_url, "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
        "AUTHGATE_DATA_DIR": str(settings.data_dir),
    }
    if counters:
        env.update(AUTHGATE_REDIS_URL=counters["redis_url"], AUTHGATE_REDIS_KEY_PREFIX=counters["redis_key_prefix"])
    result = subprocess.run(
        [sys.executable, "-m", "authgate", *args, "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"] == "invalid_grant" and response.headers["cache-control"] == "no-store"


def test_brute_force_is_stopped_across_two_servers(start_server, counters):
    servers = [start_server(**LIMITS, **counters), start_server(**LIMITS, **counters)]
    load_world(servers[0].services)

    # 1. A hundred wrong passwords for one user from one address: that pair is locked after 5.
    guesses = [attempt(servers[i % 2], "barista", f"guess-{i}", ATTACKER) for i in range(100)]
    assert [r.status_code for r in guesses[:5]] == [400] * 5
    for response in guesses[5:]:
        assert_throttled(response)
    assert_throttled(attempt(servers[0], "barista", PASSWORD, ATTACKER))  # even the right password, from there
    assert attempt(servers[1], "barista", PASSWORD, OWNER).status_code == 200, "the owner elsewhere still gets in"

    # 2. One address guessing across many accounts is stopped for every account.
    sprayed = [attempt(servers[i % 2], f"ghost-{i}", "guess", SPRAYER) for i in range(10)]
    assert [r.status_code for r in sprayed] == [400] * 10, "unknown users get the answer wrong passwords get"
    assert_throttled(attempt(servers[0], "manager", PASSWORD, SPRAYER))
    assert attempt(servers[1], "manager", PASSWORD, OWNER).status_code == 200

    # 3. Many addresses guessing at one account: that account is slowed, from everywhere.
    spread = [attempt(servers[i % 2], "manager", "guess", f"192.0.2.{i + 1}") for i in range(8)]
    assert [r.status_code for r in spread] == [400] * 8
    assert_throttled(attempt(servers[0], "manager", PASSWORD, "192.0.2.200"))
    assert_throttled(attempt(servers[1], "manager", PASSWORD, OWNER))
    assert attempt(servers[1], "barista", PASSWORD, "192.0.2.1").status_code == 200, "other accounts are not slowed"

    # 4. The operator clears the account; every server sees it.
    assert cli(servers[0], counters, "user", "unlock", "manager")["cleared"] >= 1
    assert attempt(servers[0], "manager", PASSWORD, "192.0.2.200").status_code == 200
    assert attempt(servers[1], "manager", PASSWORD, OWNER).status_code == 200

    # 5. Locks and the unlock are in the audit log, readable with the audit CLI.
    events = cli(servers[1], counters, "audit", "--all")
    kinds = {(event["type"], event["subject"], event["detail"].get("scope")) for event in events}
    assert ("account.locked", "barista", "pair") in kinds and ("account.locked", "manager", "account") in kinds
    assert ("account.unlocked", "manager", None) in kinds
    assert any(event["type"] == "address.blocked" and event["ip"] == SPRAYER for event in events)
    failures = [event for event in events if event["type"] == "login.failed" and event["subject"] == "barista"]
    assert len(failures) == 5, "refused attempts are not counted again"
    assert {event["ip"] for event in failures} == {ATTACKER}
