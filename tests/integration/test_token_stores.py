"""The token stores' invariants (`AuthorizationCodeStorage`, `RevokedTokenStorage`), on SQLite and PostgreSQL.

Each test states one invariant of the Protocol's docstring and runs it against the SQL implementation the
server wires in; storage applies no protocol rule, so these tests check storage and nothing else (the
rules are the code grant's and the revocation list's, tested through the endpoints).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from authgate import tokens
from authgate.oauth2.authorization_codes import CodeGrant, SqlAuthorizationCodeStorage
from authgate.oauth2.revocation_list import SqlRevokedTokenStorage
from authgate.services import Services
from authgate.storage.models import AuthorizationCode

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def user_id(services: Services) -> int:
    with services.realm(actor="test") as realm:
        realm.users.create("ann")
    with services.reader() as realm:
        return realm.users.get("ann").id


def a_grant(user_id: int, **changes: object) -> CodeGrant:
    values: dict[str, object] = {
        "client_id": "app", "user_id": user_id, "redirect_uri": "https://app.example/cb",
        "scope": ("openid", "get:drinks"), "audience": "https://api.example", "nonce": "n-1",
        "code_challenge": "c" * 43, "code_challenge_method": "S256", "auth_time": NOW - timedelta(minutes=1),
        "acr": None, "session_id": "sid-1", "amr": ("pwd", "otp"),
    }
    values.update(changes)
    return CodeGrant(**values)  # type: ignore[arg-type]


def create(services: Services, code: str, grant: CodeGrant, *,
           expires_at: datetime = NOW + timedelta(minutes=1)) -> None:
    with services.database.transaction() as session:
        SqlAuthorizationCodeStorage().create(session, code, grant, created_at=NOW, expires_at=expires_at)


# --- AuthorizationCodeStorage -------------------------------------------------------------------------------
def test_a_code_is_found_as_created_and_stored_only_as_its_digest(services, user_id):
    storage, grant = SqlAuthorizationCodeStorage(), a_grant(user_id)
    create(services, "code-1", grant)
    with services.database.reader() as session:
        stored = storage.find(session, "code-1")
        hashes = session.scalars(select(AuthorizationCode.code_hash)).all()
        assert storage.find(session, "code-2") is None
    assert stored is not None
    assert stored.grant == grant
    assert (stored.expires_at, stored.consumed_at, stored.issued_family_id, stored.issued_access_jti) == (
        NOW + timedelta(minutes=1), None, None, None)
    assert hashes == [tokens.digest("code-1")], "the code itself is never stored"


def test_a_code_is_claimed_once(services, user_id):
    storage = SqlAuthorizationCodeStorage()
    create(services, "code-1", a_grant(user_id))
    with services.database.transaction() as session:
        assert storage.claim(session, "code-1", at=NOW) is True
    with services.database.transaction() as session:
        assert storage.claim(session, "code-1", at=NOW + timedelta(seconds=1)) is False
        assert storage.claim(session, "no-such-code", at=NOW) is False
    with services.database.reader() as session:
        stored = storage.find(session, "code-1")
    assert stored is not None and stored.consumed_at == NOW, "the second claim changed nothing"


def test_a_claim_that_rolls_back_leaves_the_code_unused(services, user_id):
    storage = SqlAuthorizationCodeStorage()
    create(services, "code-1", a_grant(user_id))
    with pytest.raises(RuntimeError), services.database.transaction() as session:
        assert storage.claim(session, "code-1", at=NOW) is True
        raise RuntimeError("the exchange failed after the claim")
    with services.database.transaction() as session:
        assert storage.claim(session, "code-1", at=NOW) is True


def claimed_together(services: Services, code: str) -> list[bool]:
    """Two threads claim `code` at once, each in its own transaction; what each claim returned."""
    storage, barrier, results = SqlAuthorizationCodeStorage(), threading.Barrier(2), []

    def claim() -> None:
        barrier.wait()
        with services.database.transaction() as session:
            results.append(storage.claim(session, code, at=NOW))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_of_two_concurrent_claims_exactly_one_wins(services, user_id):
    """On PostgreSQL the loser's UPDATE waits for the winner's commit, then matches nothing; SQLite serialises."""
    for index in range(10):
        create(services, f"code-{index}", a_grant(user_id))
        assert sorted(claimed_together(services, f"code-{index}")) == [False, True], f"round {index}"


def test_what_a_code_issued_is_recorded_for_a_replay_to_revoke(services, user_id):
    storage = SqlAuthorizationCodeStorage()
    create(services, "code-1", a_grant(user_id))
    with services.database.transaction() as session:
        storage.claim(session, "code-1", at=NOW)
        storage.record_issued(session, "code-1", family_id="family-1", access_jti="jti-1")
    with services.database.reader() as session:
        stored = storage.find(session, "code-1")
    assert stored is not None and (stored.issued_family_id, stored.issued_access_jti) == ("family-1", "jti-1")


def test_purge_deletes_only_codes_expired_before_the_moment(services, user_id):
    storage = SqlAuthorizationCodeStorage()
    create(services, "old-used", a_grant(user_id), expires_at=NOW - timedelta(days=2))
    create(services, "old-unused", a_grant(user_id), expires_at=NOW - timedelta(days=2))
    create(services, "at-the-moment", a_grant(user_id), expires_at=NOW - timedelta(days=1))
    create(services, "fresh", a_grant(user_id))
    with services.database.transaction() as session:
        storage.claim(session, "old-used", at=NOW - timedelta(days=2, seconds=30))
        assert storage.purge(session, expired_before=NOW - timedelta(days=1)) == 2
    with services.database.reader() as session:
        assert [code for code in ("old-used", "old-unused", "at-the-moment", "fresh")
                if storage.find(session, code) is not None] == ["at-the-moment", "fresh"]


# --- RevokedTokenStorage ------------------------------------------------------------------------------------
def test_a_jti_is_added_once_and_keeps_its_first_expiry(services):
    storage = SqlRevokedTokenStorage()
    with services.database.transaction() as session:
        assert storage.add(session, "jti-1", expires_at=NOW + timedelta(minutes=5), revoked_at=NOW) is True
    with services.database.transaction() as session:
        assert storage.add(session, "jti-1", expires_at=NOW + timedelta(hours=5), revoked_at=NOW) is False
    with services.database.reader() as session:
        assert storage.contains(session, "jti-1") is True
        assert storage.contains(session, "jti-2") is False
        assert storage.expiring_after(session, NOW) == [("jti-1", NOW + timedelta(minutes=5))]


def test_revoked_jtis_are_listed_by_when_revoked_and_by_when_they_expire(services):
    storage = SqlRevokedTokenStorage()
    with services.database.transaction() as session:
        storage.add(session, "early", expires_at=NOW + timedelta(minutes=1), revoked_at=NOW - timedelta(minutes=10))
        storage.add(session, "late", expires_at=NOW + timedelta(minutes=30), revoked_at=NOW)
        storage.add(session, "expired", expires_at=NOW - timedelta(minutes=1), revoked_at=NOW - timedelta(minutes=20))
    with services.database.reader() as session:
        assert sorted(storage.revoked_since(session, NOW - timedelta(minutes=10))) == [
            ("early", NOW + timedelta(minutes=1)), ("late", NOW + timedelta(minutes=30))], "at or after the moment"
        assert storage.revoked_since(session, NOW + timedelta(seconds=1)) == []
        assert sorted(jti for jti, _ in storage.expiring_after(session, NOW)) == ["early", "late"]
        assert storage.expiring_after(session, NOW + timedelta(minutes=1)) == [("late", NOW + timedelta(minutes=30))]


def test_purge_deletes_only_jtis_whose_token_expired_before_the_moment(services):
    storage = SqlRevokedTokenStorage()
    with services.database.transaction() as session:
        storage.add(session, "expired", expires_at=NOW - timedelta(minutes=1), revoked_at=NOW - timedelta(minutes=20))
        storage.add(session, "at-the-moment", expires_at=NOW, revoked_at=NOW - timedelta(minutes=20))
        storage.add(session, "live", expires_at=NOW + timedelta(minutes=1), revoked_at=NOW)
    with services.database.transaction() as session:
        assert storage.purge(session, expired_before=NOW) == 1
    with services.database.reader() as session:
        assert [jti for jti in ("expired", "at-the-moment", "live") if storage.contains(session, jti)] == [
            "at-the-moment", "live"]
