"""Fifty concurrent uses of one refresh token, over real HTTP, on SQLite and PostgreSQL.

Exactly one rotation, and every caller gets the same successor (never used yet: no theft, even
without a grace window). Once the successor was used, without a grace window every presentation
of its parent is reuse, and the family is revoked.
Every caller reads the token's link locked (PostgreSQL: SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE); the
losers wait for the winner's commit and then read the link rotated (grace retry or reuse).
"""

from __future__ import annotations

import threading

import httpx
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
    # Correctness, not latency: no lock wait times out on a busy machine.
    server = start_server(refresh_reuse_grace=30, database_timeout=30)
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


def test_concurrent_uses_rotate_once_and_reuse_after_the_successors_use_revokes_all(start_server):
    # Correctness, not latency: no lock wait times out on a busy machine.
    server = start_server(refresh_reuse_grace=0, database_timeout=30)
    load_world(server.services)
    presented = password_login(server.url, "manager").json()["refresh_token"]
    responses = fire_together(server.url, presented)
    assert {r.status_code for r in responses} == {200}, {r.text for r in responses}
    successors = {r.json()["refresh_token"] for r in responses}
    assert len(successors) == 1, "never used yet: every caller gets it, no grace window needed"
    winner = successors.pop()
    assert len(family_of(server, presented)) == 2, "exactly one rotation"
    used = refresh(server.url, winner)
    assert used.status_code == 200
    responses = fire_together(server.url, presented)
    assert {r.status_code for r in responses} == {400}, {r.text for r in responses}
    assert all(r.json()["error"] == "invalid_grant" for r in responses)
    family = family_of(server, presented)
    assert len(family) == 3 and sum(link.rotated_at is not None for link in family) == 2
    assert all(link.revoked_at is not None for link in family), "reuse revoked every link"
    assert refresh(server.url, used.json()["refresh_token"]).json()["error"] == "invalid_grant"
    with server.services.database.reader() as session:
        assert audit.query(session, type_prefix=audit.REFRESH_REUSED), "reuse is audited"


def refresh(url: str, refresh_token: str) -> httpx.Response:
    return httpx.post(url + "/oauth/token", data={
        "grant_type": "refresh_token", "client_id": "coffee-app", "refresh_token": refresh_token})
