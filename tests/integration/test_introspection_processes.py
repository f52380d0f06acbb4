"""Revocation through one server process is seen by introspection on another (shared database)."""

from __future__ import annotations

import time

import pytest
from test_token_world import HTTP, REPORT_SECRET, basic, load_world, password_login, start_server

__all__ = ["start_server"]


@pytest.mark.parametrize("interval", [0.0, 0.5], ids=["no-mirror", "mirror"])
def test_a_revocation_elsewhere_is_seen_within_the_interval(start_server, interval):
    # Two replicas behind one name: the same issuer, the same database.
    one, other = (start_server(issuer="https://auth.example", revocation_cache_seconds=interval) for _ in range(2))
    load_world(one.services)
    access = password_login(one.url).json()["access_token"]

    def active_on(server) -> bool:
        response = HTTP.post(
            server.url + "/oauth/introspect", data={"token": access}, headers=basic("nightly-report", REPORT_SECRET)
        )
        return response.json()["active"]

    assert active_on(other) and active_on(other), "warm: the second answer comes from the in-memory path"
    assert HTTP.post(one.url + "/oauth/revoke", data={"client_id": "coffee-app", "token": access}).status_code == 200
    assert not active_on(one), "the revoking process knows at once"
    deadline = time.monotonic() + interval + 1.0
    while active_on(other):
        assert time.monotonic() < deadline, "the other process must learn of it within the interval"
        time.sleep(0.05)
