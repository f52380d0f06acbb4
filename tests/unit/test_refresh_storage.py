"""The refresh-token storage contract (oauth2/refresh_storage.py), on SQLite and PostgreSQL.

Every implementation that runs on the database is held to the Protocol's invariants; on PostgreSQL a
table of refresh cases runs through both implementations and compares the answers and the rows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from authgate import tokens
from authgate.access.holdings import Holder
from authgate.clock import utcnow
from authgate.oauth2 import scopes
from authgate.oauth2.errors import OAuthError
from authgate.oauth2.grants import refresh_token as refresh_grant
from authgate.oauth2.refresh_storage import (
    NewLink,
    PostgresRefreshTokenStorage,
    RefreshTokenStorage,
    SqlRefreshTokenStorage,
    storage_for,
)
from authgate.oauth2.refresh_tokens import RefreshGrant, RefreshTokenReused, RefreshTokens, successor_key
from authgate.storage.models import RefreshToken, User

REALM = """
apis:
  - identifier: https://api
    name: API
    permissions: [read, write, admin]
roles:
  - name: editor
    permissions: {https://api: [write, read]}
  - name: reader
    permissions: {https://api: [read]}
users:
  - username: ada
    password: "correct horse battery staple 42"
    roles: [editor, reader]
"""


def implementations(services) -> list[RefreshTokenStorage]:
    """Every implementation that runs on this database (the one wired in among them)."""
    found: list[RefreshTokenStorage] = [SqlRefreshTokenStorage()]
    if not services.database.is_sqlite:
        found.append(PostgresRefreshTokenStorage())
    assert type(storage_for(services.database)) in {type(storage) for storage in found}
    return found


def a_link(now: datetime, *, family_id: str = "family", user_id: int | None = None, client_id: str = "app",
           session_id: str | None = None) -> tuple[str, NewLink]:
    token = tokens.new_opaque()
    return token, NewLink(
        token_hash=tokens.digest(token), family_id=family_id, client_id=client_id, user_id=user_id,
        audience="https://api", scope="openid read", auth_time=now - timedelta(minutes=5), session_id=session_id,
        amr=("pwd", "otp"), created_at=now, expires_at=now + timedelta(hours=1),
        family_expires_at=now + timedelta(days=1),
    )


def insert(services, storage: RefreshTokenStorage, link: NewLink) -> None:
    with services.database.transaction() as session:
        storage.insert_link(session, link)


def ada(services, load_realm) -> int:
    load_realm(REALM)
    with services.database.reader() as session:
        return int(session.scalars(select(User.id).where(User.username == "ada")).one())


def test_a_link_is_found_by_its_digest_as_it_was_inserted(services):
    now = utcnow().replace(microsecond=0)
    for storage in implementations(services):
        token, new = a_link(now, family_id=f"found-{type(storage).__name__}")
        insert(services, storage, new)
        with services.database.reader() as session:
            link = storage.find(session, new.token_hash)
            assert storage.find(session, token) is None, "found by digest, never by the token"
            assert storage.find(session, tokens.digest(tokens.new_opaque())) is None
        assert link is not None
        assert {name: getattr(link, name) for name in new.values()} == {**vars(new)}
        assert (link.rotated_at, link.successor_hash, link.revoked_at) == (None, None, None)
        assert link.created_at.tzinfo is not None and link.expires_at.tzinfo is not None


def test_find_for_update_reads_the_holder_as_they_stand_now(services, load_realm):
    user_id = ada(services, load_realm)
    with services.database.reader() as session:
        subject = session.scalars(select(User.subject).where(User.id == user_id)).one()
    now = utcnow()
    for storage in implementations(services):
        _, users = a_link(now, family_id=f"users-{type(storage).__name__}", user_id=user_id)
        _, clients = a_link(now, family_id=f"clients-{type(storage).__name__}")
        insert(services, storage, users)
        insert(services, storage, clients)
        with services.database.transaction() as session:
            found = storage.find_for_update(session, users.token_hash)
            own = storage.find_for_update(session, clients.token_hash)
            assert storage.find_for_update(session, tokens.digest("unknown")) is None
        assert found is not None and own is not None
        assert found.holder == Holder(user_id, "ada", subject, False, ("read", "write")), "each held once, sorted"
        assert own.holder is None, "a client's own family has no holder"
        with services.database.transaction() as session:
            session.execute(update(User).where(User.id == user_id).values(disabled=True))
            found = storage.find_for_update(session, users.token_hash)
            session.execute(update(User).where(User.id == user_id).values(disabled=False))
        assert found is not None and found.holder == Holder(user_id, "ada", subject, True, ("read", "write"))


def test_record_rotation_marks_the_link_and_inserts_its_successor_both_or_neither(services):
    now = utcnow().replace(microsecond=0)
    for storage in implementations(services):
        _, first = a_link(now, family_id=f"rotation-{type(storage).__name__}")
        _, successor = a_link(now + timedelta(minutes=1), family_id=first.family_id)
        insert(services, storage, first)
        with pytest.raises(RuntimeError), services.database.transaction() as session:
            found = storage.find_for_update(session, first.token_hash)
            assert found is not None
            storage.record_rotation(session, found.link, successor)
            raise RuntimeError("the caller refuses: the transaction rolls back")
        with services.database.reader() as session:
            assert storage.find(session, successor.token_hash) is None
            unrotated = storage.find(session, first.token_hash)
            assert unrotated is not None and unrotated.rotated_at is None and unrotated.successor_hash is None
        with services.database.transaction() as session:
            found = storage.find_for_update(session, first.token_hash)
            assert found is not None
            storage.record_rotation(session, found.link, successor)
        with services.database.reader() as session:
            rotated, inserted = storage.find(session, first.token_hash), storage.find(session, successor.token_hash)
        assert rotated is not None and inserted is not None
        assert rotated.rotated_at == successor.created_at and rotated.successor_hash == successor.token_hash
        assert {name: getattr(inserted, name) for name in successor.values()} == {**vars(successor)}
        assert inserted.rotated_at is None and inserted.revoked_at is None


def test_storage_decides_nothing(services):
    """An expired, revoked or rotated link is stored and read as it is: the rules are the caller's."""
    now = utcnow().replace(microsecond=0)
    for storage in implementations(services):
        _, expired = a_link(now - timedelta(days=2), family_id=f"expired-{type(storage).__name__}")
        _, successor = a_link(now, family_id=expired.family_id)
        insert(services, storage, expired)
        with services.database.transaction() as session:
            found = storage.find_for_update(session, expired.token_hash)
            assert found is not None and found.link.expires_at < now, "found although expired"
            storage.record_rotation(session, found.link, successor)
            assert storage.revoke_family(session, expired.family_id, now) == 2
        with services.database.transaction() as session:
            found = storage.find_for_update(session, expired.token_hash)
        assert found is not None and found.link.revoked_at == now and found.link.rotated_at is not None


def test_revocations_count_the_links_not_revoked_yet_and_never_move_a_revocation(services):
    now = utcnow().replace(microsecond=0)
    later = now + timedelta(minutes=5)
    for storage in implementations(services):
        name = type(storage).__name__
        links = [a_link(now, family_id=f"revoked-{name}", session_id=f"sid-{name}")[1] for _ in range(2)]
        bystander = a_link(now, family_id=f"bystander-{name}", session_id=f"other-{name}")[1]
        for link in [*links, bystander]:
            insert(services, storage, link)
        with services.database.transaction() as session:
            assert storage.revoke_family(session, f"revoked-{name}", now) == 2
            assert storage.revoke_family(session, f"revoked-{name}", later) == 0
            assert storage.revoke_for_session(session, f"sid-{name}", later) == 0, "already revoked"
        with services.database.reader() as session:
            assert [storage.find(session, link.token_hash).revoked_at for link in links] == [now, now]  # type: ignore[union-attr]
            assert storage.find(session, bystander.token_hash).revoked_at is None  # type: ignore[union-attr]
        with services.database.transaction() as session:
            assert storage.revoke_for_session(session, f"other-{name}", later) == 1
        with services.database.reader() as session:
            assert storage.find(session, bystander.token_hash).revoked_at == later  # type: ignore[union-attr]


def _waiting_for_a_lock(services) -> bool:
    with services.database.reader() as session:
        return bool(session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


def test_find_for_update_waits_for_the_transaction_holding_the_link(services):
    """The exactly-once rotation rests on this: a second reader of the link sees it as the first left it."""
    now = utcnow().replace(microsecond=0)
    for storage in implementations(services):
        _, first = a_link(now, family_id=f"locked-{type(storage).__name__}")
        _, successor = a_link(now + timedelta(seconds=1), family_id=first.family_id)
        insert(services, storage, first)
        seen: list[Any] = []

        def second_reader(storage: RefreshTokenStorage = storage, token_hash: str = first.token_hash,
                          seen: list[Any] = seen) -> None:
            with services.database.transaction() as session:
                seen.append(storage.find_for_update(session, token_hash))

        with services.database.transaction() as session:
            found = storage.find_for_update(session, first.token_hash)
            assert found is not None and found.link.rotated_at is None
            reader = threading.Thread(target=second_reader)
            reader.start()
            if services.database.is_sqlite:
                reader.join(timeout=0.5)  # SQLite: its BEGIN IMMEDIATE waits for this transaction
            else:
                deadline = time.monotonic() + 10
                while not _waiting_for_a_lock(services):  # PostgreSQL: its SELECT … FOR UPDATE waits on the row
                    assert time.monotonic() < deadline, "the second reader never waited"
            assert reader.is_alive() and seen == [], "the second reader waits"
            storage.record_rotation(session, found.link, successor)
        reader.join(timeout=10)
        assert len(seen) == 1 and seen[0] is not None
        assert seen[0].link.rotated_at == successor.created_at, "it reads the link as the first transaction left it"


# --- differential: both implementations, one table of cases (PostgreSQL) ------------------------------------


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Case:
    description: str
    family: str = "user"  # "user": ada's; "client": the client's own
    before: str = ""  # what happened to the family first (see `_prepare`)
    presented: str = "first"  # "first" link or its "successor"
    client_id: str = "app"
    scope: str | None = None  # the refresh's `scope` parameter
    target: str | None = None  # its `audience` / `resource`


CASES = [
    Case("fresh"),
    Case("expired idle", before="idle-expired"),
    Case("expired absolute", before="family-expired"),
    Case("revoked", before="revoked"),
    Case("other client", client_id="intruder"),
    Case("rotated, successor never used", before="rotated"),
    Case("rotated, successor used within the grace window", before="rotated-twice-recently"),
    Case("reuse: successor used before the grace window", before="rotated-twice-long-ago"),
    Case("disabled user", before="user-disabled"),
    Case("deleted user", before="user-deleted"),
    Case("narrowed scope", scope="read"),
    Case("wider scope", scope="openid email"),
    Case("other audience", target="https://elsewhere"),
    Case("client family", family="client"),
    Case("client family, rotated", family="client", before="rotated"),
    Case("successor presented", before="rotated", presented="successor"),
]


def _prepare(services, refresh_tokens: RefreshTokens, clock: Clock, case: Case, user_id: int) -> str:
    """The case's family as it stands before the refresh; returns the token presented."""
    start = clock.now
    clock.now = start - timedelta(hours=1)
    grant = RefreshGrant(client_id="app", user_id=user_id if case.family == "user" else None, audience="https://api",
                         scope=("openid", "read", "write"), auth_time=clock.now, amr=("pwd",))
    with services.database.transaction() as session:
        first = refresh_tokens.issue(session, grant)
    chain = [first]
    rotations = {"rotated": 1, "rotated-twice-recently": 2, "rotated-twice-long-ago": 2}.get(case.before, 0)
    used_at = {"rotated-twice-recently": start - timedelta(seconds=services.settings.refresh_reuse_grace - 2),
               "rotated-twice-long-ago": start - timedelta(seconds=services.settings.refresh_reuse_grace + 1)}
    for step in range(rotations):
        if step == 1:
            clock.now = used_at[case.before]
        with services.database.transaction() as session:
            chain.append(refresh_tokens.rotate(session, chain[-1], client_id="app").token)
    clock.now = start
    with services.database.transaction() as session:
        first_hash = RefreshToken.token_hash == tokens.digest(first)
        if case.before == "idle-expired":
            session.execute(update(RefreshToken).where(first_hash).values(expires_at=start - timedelta(seconds=1)))
        elif case.before == "family-expired":
            session.execute(update(RefreshToken).values(family_expires_at=start - timedelta(seconds=1)))
        elif case.before == "revoked":
            refresh_tokens.revoke_family(session, refresh_tokens.find_active(session, first).family_id)  # type: ignore[union-attr]
        elif case.before == "user-disabled":
            session.execute(update(User).where(User.id == user_id).values(disabled=True))
        elif case.before == "user-deleted":
            session.execute(User.__table__.delete().where(User.id == user_id))
    return chain[1] if case.presented == "successor" else first


def _refresh(services, refresh_tokens: RefreshTokens, case: Case, presented: str) -> tuple[Any, list[dict[str, Any]]]:
    """The answer to the refresh and the rows it leaves, in a transaction rolled back afterwards."""
    requested = scopes.parse_scope(case.scope)
    with Session(services.database.engine) as session:
        session.begin()
        try:
            rotation = refresh_tokens.rotate(
                session, presented, client_id=case.client_id,
                before_rotation=lambda grant, holder: refresh_grant._check(grant, holder, requested, case.target))
            answer: Any = rotation
        except (OAuthError, RefreshTokenReused) as error:
            answer = (type(error).__name__, str(error), vars(error))
        rows = [dict(row._mapping) for row in session.execute(
            select(RefreshToken.__table__).order_by(RefreshToken.token_hash))]
        session.rollback()
    for row in rows:
        del row["id"]  # a serial: the successor's differs between the runs, nothing else may
    return answer, rows


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("case", CASES, ids=[case.description for case in CASES])
def test_both_implementations_answer_alike(services, load_realm, case):
    user_id = ada(services, load_realm)
    clock = Clock(utcnow().replace(microsecond=0))
    key = successor_key(services.settings)
    plain = RefreshTokens(services.settings, key, SqlRefreshTokenStorage(), clock=clock)
    optimised = RefreshTokens(services.settings, key, PostgresRefreshTokenStorage(), clock=clock)
    presented = _prepare(services, plain, clock, case, user_id)
    answers = [_refresh(services, refresh_tokens, case, presented) for refresh_tokens in (plain, optimised)]
    assert answers[0] == answers[1]
    answer, rows = answers[0]
    assert rows or case.before == "user-deleted", "the family's rows are compared (a deleted user's went with them)"
    if isinstance(answer, tuple) and case.before in {"", "user-disabled"}:
        assert len(rows) == 1 and rows[0]["rotated_at"] is None, "a refused refresh rotates nothing"
    if case.description == "fresh":  # the table exercises both outcomes
        assert not isinstance(answer, tuple) and not answer.grace and answer.holder.permissions == ("read", "write")
    if case.description.startswith("reuse"):
        assert answer[0] == "RefreshTokenReused"
