"""Lists over the admin API: keyset cursors, page numbers that seek through the index, prefix search, audit paging.

The same queries bench/admin_pagination.py times on a million users, checked
for correctness on a few hundred, against the database's own ORDER BY/OFFSET.
"""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select
from test_admin_support import AdminWorld, admin_world  # noqa: F401

from authgate.admin import pagination
from authgate.storage.models import User

USERS = 230
SIZE = 20


@pytest.fixture
def crowd(admin_world: AdminWorld) -> list[str]:
    """230 more users whose username order differs from their creation order; all usernames in the database's order."""
    with admin_world.server.services.realm(actor="test") as realm:  # type: ignore[attr-defined]
        for number in range(USERS):
            username = f"{'zyxwvutsrq'[number % 10]}{number:03d}.{number % 7}"
            realm.users.create(username, email=f"person{number}@crowd.example")
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        return list(realm.session.scalars(select(User.username).order_by(User.username)))


def get(world: AdminWorld, path: str, **params: object) -> dict:
    response = httpx.get(f"{world.api}{path}", params=params, headers={"Authorization": f"Bearer {world.root_token}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_page_number_returns_what_offset_would(admin_world: AdminWorld, crowd: list[str]) -> None:
    # first, second, middle, the last (partial: 231 users), past the end
    for page in (1, 2, 7, 12, 13):
        body = get(admin_world, "/users", page=page, limit=SIZE)
        expected = crowd[(page - 1) * SIZE: page * SIZE]
        assert [user["username"] for user in body["items"]] == expected, f"page {page}"
        assert body["next_cursor"] == (expected[-1] if len(expected) == SIZE else None), f"page {page}"


def test_pages_far_in_seek_from_sampled_anchors_and_still_match_offset(admin_world: AdminWorld, crowd: list[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With anchors every 16 users, page 7 of 20 starts 8 rows past the 7th anchor, page 5 right at the 5th."""
    monkeypatch.setattr(pagination, "STRIDE", 16)
    for page in (1, 2, 5, 7, 12, 13):
        body = get(admin_world, "/users", page=page, limit=SIZE)
        assert [user["username"] for user in body["items"]] == crowd[(page - 1) * SIZE: page * SIZE], f"page {page}"
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        assert list(realm.users.every_nth_username(16)) == crowd[15::16]


def test_a_stale_sample_is_retaken_in_the_background(admin_world: AdminWorld, crowd: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "STRIDE", 16)
    assert [u["username"] for u in get(admin_world, "/users", page=7, limit=SIZE)["items"]] == crowd[120:140]
    admin_world.server.services.user_page_anchors.retake_after = 0.0  # type: ignore[attr-defined]
    with admin_world.server.services.realm(actor="test") as realm:  # type: ignore[attr-defined]
        for number in range(5):
            realm.users.create(f"aaa{number}")  # sort before everyone: every later page shifts by five
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        now = list(realm.session.scalars(select(User.username).order_by(User.username)))
    deadline = time.monotonic() + 10
    while [u["username"] for u in get(admin_world, "/users", page=7, limit=SIZE)["items"]] != now[120:140]:
        assert time.monotonic() < deadline, "the sample was never retaken"
        time.sleep(0.05)


def test_following_the_cursor_visits_every_user_once_in_order(admin_world: AdminWorld, crowd: list[str]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        body = get(admin_world, "/users", limit=SIZE, **({"after": cursor} if cursor else {}))
        seen += [user["username"] for user in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == crowd


SEARCHES = [
    ("username prefix", "z00", ["z000.0"]),
    ("case-insensitive", "Y01", ["y011.4"]),
    ("email prefix", "person17@", ["s017.3"]),
    ("no match", "nobody", []),
    ("LIKE wildcards are literal", "z%", []),
]


def test_search_matches_username_or_email_prefixes(admin_world: AdminWorld, crowd: list[str]) -> None:
    for case, search, expected in SEARCHES:
        body = get(admin_world, "/users", search=search)
        assert [user["username"] for user in body["items"]] == expected, case


def test_a_cursor_and_a_page_number_together_are_refused(admin_world: AdminWorld) -> None:
    response = httpx.get(f"{admin_world.api}/users", params={"after": "a", "page": 2},
                         headers={"Authorization": f"Bearer {admin_world.root_token}"})
    assert response.status_code == 422
    assert response.json() == {"error": "invalid_input", "error_description": "Give either after or page, not both.",
                               "field": "page"}


def test_the_audit_log_pages_newest_first_without_gaps_and_filters(admin_world: AdminWorld, crowd: list[str]) -> None:
    # token.issued events are written in batches: write the queued ones now, not during the paging.
    admin_world.server.services.oauth2.issuance_log.flush()  # type: ignore[attr-defined]
    everything = get(admin_world, "/audit", limit=500)["items"]
    ids: list[int] = []
    cursor = None
    while True:
        body = get(admin_world, "/audit", limit=40, **({"before": cursor} if cursor else {}))
        ids += [event["id"] for event in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert ids == [event["id"] for event in everything] == sorted(ids, reverse=True)
    created = get(admin_world, "/audit", type="admin.change", subject="x002.2")["items"]
    assert [(event["detail"]["change"], event["actor"]) for event in created] == [("user.created", "test")]
    assert get(admin_world, "/audit", since="2999-01-01T00:00:00Z")["items"] == []
