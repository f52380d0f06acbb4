"""Fifty concurrent uses of one refresh token, over real HTTP, on SQLite and PostgreSQL.

Inside the grace window: exactly one rotation, and every caller gets the same successor.
Without a grace window: exactly one caller wins; the rest are reuse, and the family is revoked.
On PostgreSQL every caller first tries the one-statement autocommit claim; the losers match no row and
fall back to the transaction, which sees the winner's rotation (grace retry or reuse).
"""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import select
from test_token_world import load_world, password_login, start_server

from authgate import audit, tokens
from authgate.storage.models import RefreshToken

__all__ = ["start_server"]
CALLERS = 50


def fire_together(url: str, refresh_token: str) -> list[httpx.Response]:
    barrier = threading.Barrier(CALLERS)
    responses: list[httpx.Response | None] = [None] * CALLERS

    def call(index: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            responses[index] = client.post(url + "/oauth/token", data={
                "grant_type": "refresh_token", "client_id": "coffee-app", "refresh_token": refresh_token})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(response is not None for response in responses)
    return responses  # type: ignore[return-value]


def family_of(server, refresh_token: str) -> list[RefreshToken]:
    with server.services.database.reader() as session:
        first = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token)))
        return list(session.scalars(select(RefreshToken).where(RefreshToken.family_id == first.family_id)))


def test_concurrent_retries_inside_the_grace_window_rotate_once(start_server):
    server = start_server(refresh_reuse_grace=30)
    load_world(server.services)
    presented = password_login(server.url).json()["refresh_token"]
    responses = fire_together(server.url, presented)
    assert [r.status_code for r in responses] == [200] * CALLERS, {r.text for r in responses if r.status_code != 200}
    successors = {r.json()["refresh_token"] for r in responses}
    assert len(successors) == 1, "every caller got the one successor"
    family = family_of(server, presented)
    assert len(family) == 2, "exactly one rotation: the token and its single successor"
    assert sum(link.rotated_at is not None for link in family) == 1
    assert all(link.revoked_at is None for link in family)


def test_concurrent_reuse_without_a_grace_window_revokes_the_family(start_server):
    server = start_server(refresh_reuse_grace=0)
    load_world(server.services)
    presented = password_login(server.url, "manager").json()["refresh_token"]
    responses = fire_together(server.url, presented)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (CALLERS - 1), {r.text for r in responses if r.status_code not in (200, 400)}
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    winner = next(r for r in responses if r.status_code == 200).json()["refresh_token"]
    family = family_of(server, presented)
    assert len(family) == 2 and sum(link.rotated_at is not None for link in family) == 1
    assert all(link.revoked_at is not None for link in family), "reuse revoked every link"
    again = httpx.post(server.url + "/oauth/token", data={"grant_type": "refresh_token", "client_id": "coffee-app", "refresh_token": winner})
    assert again.json()["error"] == "invalid_grant"
    with server.services.database.reader() as session:
        assert audit.query(session, type_prefix=audit.REFRESH_REUSED), "reuse is audited"
