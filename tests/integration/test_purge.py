"""`authgate purge`: what can no longer be used goes, everything else stays; a second run removes nothing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from authgate import audit
from authgate.clock import utcnow
from authgate.oauth2.refresh_storage import storage_for
from authgate.oauth2.refresh_tokens import RefreshGrant, RefreshTokens, successor_key
from authgate.services import Services
from authgate.storage.models import (
    AuditEvent,
    AuthorizationCode,
    BrowserSession,
    ConsoleSession,
    EmailToken,
    FederationAttempt,
    IdentityProvider,
    OutboxMessage,
    PasskeyChallenge,
    PendingLogin,
    RefreshToken,
    RevokedAccessToken,
    User,
)
from testkit import TEST_MASTER_KEY, cli_in_process

KINDS = ["refresh_tokens", "revoked_access_tokens", "authorization_codes", "browser_sessions", "console_sessions",
         "email_tokens", "passkey_challenges", "pending_logins", "federation_attempts", "outbox_messages"]


@pytest.fixture
def purge(services: Services, database_url: str, tmp_path: Path) -> Callable[..., Any]:
    """`authgate purge ARGS` in-process against the `services` fixture's database."""
    authgate = cli_in_process({"AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
                               "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY, "COLUMNS": "200"})
    return lambda *args: authgate("purge", *args)


def _digest() -> str:
    return secrets.token_hex(32)


def _link(family: str, user_id: int, *, family_expires: datetime, expires: datetime, rotated: bool) -> RefreshToken:
    return RefreshToken(token_hash=_digest(), family_id=family, client_id="app", user_id=user_id, scope="openid",
                        created_at=family_expires - timedelta(days=30), expires_at=expires,
                        family_expires_at=family_expires, rotated_at=expires if rotated else None)


def _world(services: Services, now: datetime) -> None:
    """Of each kind, rows that are past use (`past`) and rows that are not (`live`)."""
    past, live, long_ago = now - timedelta(hours=2), now + timedelta(hours=2), now - timedelta(days=40)
    with services.database.transaction() as session:
        user = User(username="abe")
        session.add_all([user, IdentityProvider(alias="up", display_name="Up", type="oidc", client_id="authgate")])
        session.flush()
        uid = user.id
        session.add_all([
            # An expired family: both links go. A live family whose current link is idle-expired stays whole.
            _link("dead", uid, family_expires=past, expires=past - timedelta(hours=1), rotated=True),
            _link("dead", uid, family_expires=past, expires=past, rotated=False),
            _link("live", uid, family_expires=live, expires=past - timedelta(hours=1), rotated=True),
            _link("live", uid, family_expires=live, expires=past, rotated=False),
            RevokedAccessToken(jti="old", expires_at=past, revoked_at=past - timedelta(minutes=5)),
            RevokedAccessToken(jti="new", expires_at=live, revoked_at=now),
            *[AuthorizationCode(code_hash=_digest(), client_id="app", user_id=uid, redirect_uri="https://a/cb",
                                auth_time=now, expires_at=at) for at in (now - timedelta(days=2), past)],
            *[BrowserSession(id_hash=_digest(), sid=secrets.token_hex(8), user_id=uid, auth_time=now, expires_at=at)
              for at in (past, live)],
            *[ConsoleSession(id_hash=_digest(), secrets_encrypted=b"x", expires_at=at) for at in (past, live)],
            *[EmailToken(purpose="verify_email", token_hash=_digest(), code_hash=_digest(), user_id=uid,
                         email="abe@example.com", expires_at=at) for at in (past, live)],
            *[PasskeyChallenge(challenge_hash=_digest(), purpose="login", browser_hash=_digest(), expires_at=at)
              for at in (past, live)],
            *[PendingLogin(id_hash=_digest(), user_id=uid, return_to="/", expires_at=at) for at in (past, live)],
            *[FederationAttempt(id_hash=_digest(), kind="login", provider_alias="up", browser_hash=_digest(),
                                sealed=b"x", return_to="/", expires_at=at) for at in (past, live)],
            # Old sent and failed messages go; a recent sent one and an old pending one stay.
            _message("sent", created=long_ago, sent=long_ago),
            _message("failed", created=long_ago, sent=None),
            _message("sent", created=now - timedelta(days=1), sent=now - timedelta(days=1)),
            _message("pending", created=long_ago, sent=None),
        ])


def _message(status: str, *, created: datetime, sent: datetime | None) -> OutboxMessage:
    return OutboxMessage(message_id=secrets.token_hex(16), kind="mail", target="abe@example.com", payload={},
                         status=status, created_at=created, next_attempt_at=created, sent_at=sent)


def _count(services: Services, model: Any, *where: Any) -> int:
    with services.database.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_purge_removes_what_can_no_longer_be_used_and_keeps_the_rest(services, purge):
    _world(services, utcnow())

    removed = json.loads(purge("--json").stdout)["removed"]

    expected = dict.fromkeys(KINDS, 1) | {"refresh_tokens": 2, "authorization_codes": 1, "outbox_messages": 2}
    assert removed == expected
    assert _count(services, RefreshToken, RefreshToken.family_id == "dead") == 0
    assert _count(services, RefreshToken, RefreshToken.family_id == "live") == 2, "a live family stays whole"
    assert _count(services, RevokedAccessToken, RevokedAccessToken.jti == "new") == 1
    assert _count(services, AuthorizationCode) == 1, "a code expired an hour ago is kept a day (replay detection)"
    for model in (BrowserSession, ConsoleSession, EmailToken, PasskeyChallenge, PendingLogin, FederationAttempt):
        assert _count(services, model) == 1, model.__tablename__
        assert _count(services, model, model.expires_at > utcnow()) == 1, f"the unexpired {model.__tablename__}"
    assert {status for status, in _rows(services, OutboxMessage.status)} == {"sent", "pending"}

    events = _rows(services, AuditEvent.detail, AuditEvent.type == audit.MAINTENANCE_PURGED)
    assert [detail for detail, in events] == [expected]


def test_a_second_run_removes_nothing_and_records_nothing(services, purge):
    _world(services, utcnow())
    purge()

    second = purge()

    assert "0 row(s) removed" in second.stdout and "refresh tokens" in second.stdout
    assert json.loads(purge("--json").stdout)["removed"] == dict.fromkeys(KINDS, 0)
    assert _count(services, AuditEvent, AuditEvent.type == audit.MAINTENANCE_PURGED) == 1


def test_outbox_retention_is_a_setting(services, purge, monkeypatch):
    now = utcnow()
    with services.database.transaction() as session:
        session.add(_message("sent", created=now - timedelta(days=3), sent=now - timedelta(days=3)))
    monkeypatch.setenv("AUTHGATE_OUTBOX_RETENTION_DAYS", "2")

    assert json.loads(purge("--json").stdout)["removed"]["outbox_messages"] == 1


def test_outbox_retention_is_at_least_a_day(make_settings):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="outbox_retention_days"):
        make_settings(outbox_retention_days=0)


def test_refresh_families_go_once_their_absolute_expiry_passed_by_the_injected_clock(services):
    clock = _Clock(utcnow())
    tokens = RefreshTokens(services.settings, successor_key(services.settings), storage_for(services.database),
                           clock=clock)
    with services.database.transaction() as session:
        tokens.issue(session, RefreshGrant(client_id="app", user_id=None, audience=None, scope=("openid",),
                                           auth_time=None, session_id=None, amr=()))
    lifetime = timedelta(seconds=services.settings.refresh_token_ttl)

    clock.now += lifetime - timedelta(seconds=1)
    with services.database.transaction() as session:
        assert tokens.purge(session) == 0, "not yet past its absolute expiry"
    clock.now += timedelta(seconds=2)
    with services.database.transaction() as session:
        assert tokens.purge(session) == 1
    assert _count(services, RefreshToken) == 0


def test_database_down_is_a_clear_message_and_exit_3(tmp_path):
    authgate = cli_in_process({"AUTHGATE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
                               "AUTHGATE_DATA_DIR": str(tmp_path), "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY})

    result = authgate("purge", check=False)

    assert result.returncode == 3 and "database is unavailable" in result.stderr


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _rows(services: Services, *columns: Any) -> list[Any]:
    with services.database.reader() as session:
        return list(session.execute(select(*columns[:1]).where(*columns[1:])))
