"""The refresh token store's contract, directly against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from authgate import tokens
from authgate.access.holdings import Holder
from authgate.clock import aware, utcnow
from authgate.oauth2 import scopes
from authgate.oauth2.errors import InvalidGrant, OAuthError
from authgate.oauth2.grants import refresh_token as refresh_grant
from authgate.oauth2.refresh_tokens import (
    RefreshGrant,
    RefreshTokenReused,
    RefreshTokens,
    successor_key,
)
from authgate.storage.models import RefreshToken, User

GRANT = RefreshGrant(client_id="app", user_id=None, audience="https://api", scope=("openid", "read"))


@pytest.fixture
def store(services):
    return services.oauth2.refresh_tokens


def issue(services, store) -> str:
    with services.database.transaction() as session:
        return store.issue(session, GRANT)


def rotate(services, store, value: str, client_id: str = "app"):
    with services.database.transaction() as session:
        return store.rotate(session, value, client_id=client_id)


def test_only_digests_are_stored(services, store):
    value = issue(services, store)
    with services.database.reader() as session:
        hashes = session.scalars(select(RefreshToken.token_hash)).all()
    assert hashes == [tokens.digest(value)] and value not in hashes


def test_rotation_happens_once_and_a_retry_in_the_grace_window_gets_the_same_successor(services, store):
    value = issue(services, store)
    first = rotate(services, store, value)
    retry = rotate(services, store, value)
    assert not first.grace and retry.grace and retry.token == first.token and retry.family_id == first.family_id
    assert retry.grant == GRANT
    with services.database.reader() as session:
        assert session.scalar(select(func.count()).select_from(RefreshToken)) == 2


def test_successors_are_keyed_by_the_server_secret(services, make_settings):
    mine = services.oauth2.refresh_tokens
    other_key = successor_key(make_settings(master_key="b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE="))
    other = RefreshTokens(services.settings, other_key, mine.storage)
    assert mine._successor("t") != other._successor("t")
    assert mine._successor("t") == mine._successor("t") and mine._successor("t") != mine._successor("u")


def age(services, value: str, **moments: timedelta) -> None:
    """Move a token's timestamps into the past (time passing, without waiting)."""
    with services.database.transaction() as session:
        session.execute(update(RefreshToken).where(RefreshToken.token_hash == tokens.digest(value))
                        .values({name: utcnow() - ago for name, ago in moments.items()}))


def family_revoked(services) -> bool:
    with services.database.reader() as session:
        return all(row.revoked_at is not None for row in session.scalars(select(RefreshToken)))


def test_reuse_after_the_successor_was_used_is_reported(services, store):
    value = issue(services, store)
    successor = rotate(services, store, value).token
    rotate(services, store, successor)
    age(services, successor, rotated_at=timedelta(seconds=services.settings.refresh_reuse_grace))
    with pytest.raises(RefreshTokenReused) as raised:
        rotate(services, store, value)
    store.revoke_family_after_reuse(services.database, raised.value, ip=None, subject=None)
    assert family_revoked(services)


def test_a_retry_whose_successor_was_never_used_is_never_reuse(services, store):
    # A rotation whose answer was lost (an outage, a client timeout), retried long after.
    value = issue(services, store)
    first = rotate(services, store, value)
    age(services, value, rotated_at=timedelta(days=1))
    retry = rotate(services, store, value)
    assert retry.grace and retry.token == first.token and retry.family_id == first.family_id
    assert not family_revoked(services)
    with services.database.reader() as session:
        assert session.scalar(select(func.count()).select_from(RefreshToken)) == 2, "one rotation"
    assert not rotate(services, store, retry.token).grace, "the successor works"


def test_a_retry_soon_after_the_successors_use_gets_the_newest_token(services, store):
    # Concurrent refreshes: a slow caller arrives after the winner's client used the successor.
    value = issue(services, store)
    successor = rotate(services, store, value).token
    newest = rotate(services, store, successor).token
    age(services, value, rotated_at=timedelta(days=1))  # the window counts from the successor's use
    grace = services.settings.refresh_reuse_grace
    age(services, successor, rotated_at=timedelta(seconds=grace - 2))
    retry = rotate(services, store, value)
    assert retry.grace and retry.token == newest and not family_revoked(services)


@pytest.mark.parametrize(
    "case", ["unknown", "other-client", "revoked", "idle-expired", "family-expired", "empty", "huge"])
def test_unusable_tokens_are_invalid_grant(services, store, case):
    value = issue(services, store)
    client_id = "app"
    if case == "unknown":
        value = tokens.new_opaque()
    elif case == "other-client":
        client_id = "intruder"
    elif case == "revoked":
        with services.database.transaction() as session:
            assert store.revoke(session, value, client_id="app") is not None
    elif case in {"idle-expired", "family-expired"}:
        column = "expires_at" if case == "idle-expired" else "family_expires_at"
        with services.database.transaction() as session:
            session.execute(update(RefreshToken).values({column: utcnow() - timedelta(seconds=1)}))
    elif case == "empty":
        value = ""
    else:
        value = "x" * 600
    with pytest.raises(InvalidGrant):
        rotate(services, store, value, client_id)


def test_revoke_ignores_another_clients_token(services, store):
    value = issue(services, store)
    with services.database.transaction() as session:
        assert store.revoke(session, value, client_id="intruder") is None
    with services.database.reader() as session:
        assert store.find_active(session, value) is not None


def test_a_refusal_before_rotation_consumes_nothing(services, store):
    value = issue(services, store)

    def refuse(grant: RefreshGrant, holder: Holder | None) -> None:
        raise InvalidGrant("no")

    with pytest.raises(InvalidGrant), services.database.transaction() as session:
        store.rotate(session, value, client_id="app", before_rotation=refuse)
    with services.database.reader() as session:
        assert session.scalar(select(func.count()).select_from(RefreshToken)) == 1, "no successor left behind"
    assert not rotate(services, store, value).grace


def test_without_a_grace_window_any_use_after_the_successors_is_reuse(make_settings, services):
    # A caller that read the clock before the successor's use sees that use "from the future";
    # with no grace window that is still reuse. A successor never used is still no reuse.
    store = RefreshTokens(make_settings(refresh_reuse_grace=0), successor_key(services.settings),
                          services.oauth2.refresh_tokens.storage)
    value = issue(services, store)
    successor = rotate(services, store, value).token
    assert rotate(services, store, value).token == successor, "never used: the same successor"
    rotate(services, store, successor)
    age(services, successor, rotated_at=timedelta(seconds=-2))
    with pytest.raises(RefreshTokenReused):
        rotate(services, store, value)


REALM = """
apis:
  - identifier: https://api
    name: API
    permissions: [read, write, admin]
roles:
  - name: editor
    permissions: {https://api: [write, read]}
users:
  - username: ada
    password: "correct horse battery staple 42"
    roles: [editor]
"""


def _subject(services, user_id: int) -> str:
    with services.database.reader() as session:
        return session.scalars(select(User.subject).where(User.id == user_id)).one()


def test_the_rotation_reads_the_users_standing_now(services, store, load_realm):
    load_realm(REALM)
    with services.database.transaction() as session:
        ada = session.scalar(select(User.id).where(User.username == "ada"))
        value = store.issue(session, RefreshGrant(client_id="app", user_id=ada, audience="https://api",
                                                  scope=("read",)))
    seen: list[Holder | None] = []
    with services.database.transaction() as session:
        rotation = store.rotate(session, value, client_id="app",
                                before_rotation=lambda grant, holder: seen.append(holder))
    subject = _subject(services, ada)
    assert seen == [rotation.holder] == [Holder(ada, "ada", subject, False, ("read", "write"))], \
        "every held permission, sorted"
    with services.database.transaction() as session:
        session.execute(update(User).where(User.id == ada).values(disabled=True))
    retry = rotate(services, store, value)
    assert retry.grace and retry.holder == Holder(ada, "ada", subject, True, ("read", "write")), \
        "a grace retry reads it too"
    assert rotate(services, store, issue(services, store)).holder is None, "a client's own family has no holder"


def test_a_successor_inherits_the_grant_and_never_outlives_its_family(services, store):
    value = issue(services, store)
    deadline = utcnow().replace(microsecond=0) + timedelta(seconds=60)  # sooner than the idle window
    with services.database.transaction() as session:
        session.execute(update(RefreshToken).values(family_expires_at=deadline))
    successor = rotate(services, store, value).token
    with services.database.reader() as session:
        old = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(value)))
        new = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(successor)))
    assert old.successor_hash == new.token_hash and new.rotated_at is None and new.revoked_at is None
    assert (new.family_id, new.client_id, new.user_id, new.audience, new.scope) == \
        (old.family_id, "app", None, "https://api", "openid read")
    assert aware(new.expires_at) == aware(new.family_expires_at) == deadline


def test_a_rotation_is_a_locked_read_and_one_write_on_postgresql(services, store):
    """On PostgreSQL (PostgresRefreshTokenStorage) the statements of a rotation are the locked read of the link with
    its holder and one statement writing the rotation; the reference implementation on SQLite adds the holder's
    permissions (for a user's family) and splits the write."""
    value = issue(services, store)
    sent: list[str] = []

    def listener(*args) -> None:
        sent.append(" ".join(args[2].split()))

    event.listen(services.database.engine, "before_cursor_execute", listener)
    try:
        rotation = rotate(services, store, value)
    finally:
        event.remove(services.database.engine, "before_cursor_execute", listener)
    assert not rotation.grace
    if services.database.is_sqlite:
        assert [s.split()[0] for s in sent] == ["BEGIN", "SELECT", "UPDATE", "INSERT"], sent
    else:
        assert len(sent) == 2 and sent[0].endswith("FOR UPDATE OF refresh_tokens"), sent
        assert sent[1].startswith("WITH rotated AS (UPDATE refresh_tokens"), sent


@pytest.mark.parametrize("refusal", ["wider-oidc-scope", "other-target", "disabled-user", "unusable"])
def test_a_refused_rotation_claims_nothing(services, store, load_realm, refusal):
    """The refresh grant's refusals (and an unusable token) leave the link as it was: nothing rotated."""
    load_realm(REALM)
    with services.database.transaction() as session:
        ada = session.scalar(select(User.id).where(User.username == "ada"))
        value = store.issue(session, RefreshGrant(client_id="app", user_id=ada, audience="https://api",
                                                  scope=("openid", "read")))
        if refusal == "disabled-user":
            session.execute(update(User).where(User.id == ada).values(disabled=True))
    requested = scopes.parse_scope("openid email" if refusal == "wider-oidc-scope" else None)
    target = "https://elsewhere" if refusal == "other-target" else None
    client_id = "intruder" if refusal == "unusable" else "app"
    with pytest.raises(OAuthError), services.database.transaction() as session:
        store.rotate(session, value, client_id=client_id,
                     before_rotation=lambda grant, holder: refresh_grant._check(grant, holder, requested, target))
    with services.database.reader() as session:
        rows = session.scalars(select(RefreshToken)).all()
    assert len(rows) == 1 and rows[0].rotated_at is None and rows[0].successor_hash is None, "nothing rotated"
