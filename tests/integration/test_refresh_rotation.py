"""Refresh tokens: rotation, the grace window, reuse detection, client binding, scope narrowing, expiry."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from test_token_world import (
    BACKOFFICE_SECRET,
    PASSWORD,
    basic,
    claims_of,
    password_login,
    token,
    token_server,
)

from authgate import audit, tokens
from authgate.clock import utcnow
from authgate.storage.models import RefreshToken
from testkit import sent_to_postgresql

__all__ = ["token_server"]


def refresh(url: str, refresh_token: str, client_id: str = "coffee-app", **extra: str) -> httpx.Response:
    return token(url, {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token, **extra})


def row_of(server, refresh_token: str) -> RefreshToken:
    with server.services.database.reader() as session:
        return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token)))


def shift(server, refresh_token: str, **moments: timedelta) -> None:
    """Move a token's timestamps into the past (time passing, without waiting)."""
    now = utcnow()
    with server.services.database.transaction() as session:
        session.execute(update(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token))
                        .values({name: now - ago for name, ago in moments.items()}))


def test_rotation_stores_only_digests_and_links_the_chain(token_server):
    first = password_login(token_server.url).json()["refresh_token"]
    second = refresh(token_server.url, first).json()["refresh_token"]
    old, new = row_of(token_server, first), row_of(token_server, second)
    assert old.rotated_at is not None and old.successor_hash == tokens.digest(second) == new.token_hash
    assert new.family_id == old.family_id and new.rotated_at is None
    assert len(first) >= 43 and len(second) >= 43, "at least 256 bits"


def test_a_retry_inside_the_grace_window_gets_the_same_successor(token_server):
    first = password_login(token_server.url).json()["refresh_token"]
    winner = refresh(token_server.url, first)
    retry = refresh(token_server.url, first)
    assert winner.status_code == retry.status_code == 200
    assert retry.json()["refresh_token"] == winner.json()["refresh_token"], "no second rotation, no extra live token"
    assert retry.json()["access_token"] != winner.json()["access_token"]
    # The chain moved on twice within the window: the retry gets the newest link.
    third = refresh(token_server.url, winner.json()["refresh_token"]).json()["refresh_token"]
    assert refresh(token_server.url, first).json()["refresh_token"] == third
    assert refresh(token_server.url, third).status_code == 200


def test_reuse_after_the_successor_was_used_revokes_the_family(token_server):
    first = password_login(token_server.url, "manager").json()["refresh_token"]
    second = refresh(token_server.url, first).json()["refresh_token"]
    third = refresh(token_server.url, second).json()["refresh_token"]
    shift(token_server, second, rotated_at=timedelta(seconds=30))  # the successor was used 30 s ago
    reused = refresh(token_server.url, first)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(token_server.url, third).json()["error"] == "invalid_grant", "all revoked"
    with token_server.services.database.reader() as session:
        family_id = row_of(token_server, first).family_id
        links = select(RefreshToken).where(RefreshToken.family_id == family_id)
        family = session.scalars(links).all()
        assert family and all(link.revoked_at is not None for link in family)
        events = audit.query(session, type_prefix=audit.REFRESH_REUSED)
        assert any(e.subject == "manager" and e.client_id == "coffee-app" for e in events)


def test_a_lost_answer_retried_after_the_grace_window_gets_the_same_successor(token_server):
    # The rotation committed but its answer was lost (an outage, a client timeout); the client
    # retries long after: its successor was never used, so this is no theft, whatever the time.
    first = password_login(token_server.url).json()["refresh_token"]
    lost = refresh(token_server.url, first).json()["refresh_token"]
    shift(token_server, first, rotated_at=timedelta(hours=1))
    retry = refresh(token_server.url, first)
    assert retry.status_code == 200 and retry.json()["refresh_token"] == lost
    successor = row_of(token_server, lost)
    assert successor.revoked_at is None and successor.rotated_at is None
    assert refresh(token_server.url, lost).status_code == 200, "the family lives on"


def test_a_refresh_token_is_bound_to_its_client(token_server):
    issued = token(token_server.url, {"grant_type": "password", "username": "barista", "password": PASSWORD},
                   basic("backoffice", BACKOFFICE_SECRET))
    stolen = issued.json()["refresh_token"]
    assert refresh(token_server.url, stolen, client_id="coffee-app").json()["error"] == "invalid_grant"
    own = token(token_server.url, {"grant_type": "refresh_token", "refresh_token": stolen},
                basic("backoffice", BACKOFFICE_SECRET))
    assert own.status_code == 200, "the foreign attempt consumed nothing"


def test_scope_can_narrow_and_come_back_but_never_widen(token_server):
    issued = password_login(token_server.url, "barista", scope="openid get:drinks get:drinks-detail").json()
    narrowed = refresh(token_server.url, issued["refresh_token"], scope="get:drinks post:drinks")
    assert narrowed.status_code == 200
    assert claims_of(narrowed.json()["access_token"])["permissions"] == ["get:drinks"]
    assert narrowed.json()["scope"] == "get:drinks"
    widened = refresh(token_server.url, narrowed.json()["refresh_token"], scope="openid offline_access")
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope"
    back = refresh(token_server.url, narrowed.json()["refresh_token"])
    assert back.status_code == 200, "the refused attempt did not consume the token"
    assert back.json()["scope"] == "openid get:drinks get:drinks-detail"
    other_audience = refresh(token_server.url, back.json()["refresh_token"], audience="https://inventory.example/api")
    assert other_audience.json()["error"] == "invalid_target"


def test_permissions_follow_the_users_roles_at_refresh(token_server):
    with token_server.services.realm(actor="test") as realm:
        realm.users.create("promoted", password=PASSWORD, roles=["barista"])
    issued = password_login(token_server.url, "promoted").json()
    with token_server.services.realm(actor="test") as realm:
        realm.users.set_roles("promoted", [])
    after = refresh(token_server.url, issued["refresh_token"])
    assert claims_of(after.json()["access_token"])["permissions"] == []


@pytest.mark.parametrize("change", ["disable", "delete"])
def test_a_disabled_or_deleted_user_cannot_refresh(token_server, change):
    username = f"leaver-{change}"
    with token_server.services.realm(actor="test") as realm:
        realm.users.create(username, password=PASSWORD, roles=["barista"])
    issued = password_login(token_server.url, username).json()
    with token_server.services.realm(actor="test") as realm:
        if change == "disable":
            realm.users.update(username, disabled=True)
        else:
            realm.users.delete(username)
    response = refresh(token_server.url, issued["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("moment", ["expires_at", "family_expires_at"], ids=["idle", "absolute"])
def test_expired_refresh_tokens_are_refused(token_server, moment):
    issued = password_login(token_server.url).json()["refresh_token"]
    shift(token_server, issued, **{moment: timedelta(seconds=1)})
    response = refresh(token_server.url, issued)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_successor_expiry_keeps_the_family_deadline(token_server):
    first = password_login(token_server.url).json()["refresh_token"]
    second = refresh(token_server.url, first).json()["refresh_token"]
    old, new = row_of(token_server, first), row_of(token_server, second)
    assert new.family_expires_at == old.family_expires_at
    assert new.expires_at <= new.family_expires_at


@pytest.mark.parametrize("token_server", ["postgresql"], indirect=True)  # round trips: SQLite runs in-process
def test_a_refresh_is_one_transaction_of_two_statements_on_postgresql(token_server):
    first = password_login(token_server.url, scope="openid get:drinks").json()["refresh_token"]
    with sent_to_postgresql(token_server.services.database.engine) as sent:
        response = refresh(token_server.url, first, scope="get:drinks", audience="https://coffee.example/api")
    assert response.status_code == 200, response.text
    refreshing = [statements for statements in sent.values() if any("refresh_tokens" in s for s in statements)]
    assert len(refreshing) == 1 and len(refreshing[0]) == 4, sent
    begin, locked_read, write, commit = refreshing[0]
    assert begin.startswith("BEGIN") and commit == "COMMIT", "one transaction"
    assert locked_read.startswith("SELECT refresh_tokens.id") and locked_read.endswith("FOR UPDATE OF refresh_tokens")
    assert write.startswith("WITH rotated AS (UPDATE refresh_tokens"), "the rotation written in one statement"
    assert row_of(token_server, first).successor_hash == tokens.digest(response.json()["refresh_token"])


REFUSALS = {  # what is asked, and the answer it gets
    "wider-oidc-scope": ({"scope": "openid profile"}, "invalid_scope", "Scope 'profile' was not granted originally."),
    "other-audience": ({"audience": "https://inventory.example/api"}, "invalid_target",
                       "A refresh token keeps the audience it was issued for."),
    "other-resource": ({"resource": "https://inventory.example/api"}, "invalid_target",
                       "A refresh token keeps the audience it was issued for."),
    "disabled-user": ({}, "invalid_grant", "The refresh token is invalid."),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refused_refresh_rotates_nothing_and_answers_as_before(token_server, refusal):
    asked, error, description = REFUSALS[refusal]
    username = f"refused-{refusal}"
    with token_server.services.realm(actor="test") as realm:
        realm.users.create(username, password=PASSWORD, roles=["barista"])
    first = password_login(token_server.url, username, scope="openid get:drinks").json()["refresh_token"]
    if refusal == "disabled-user":
        with token_server.services.realm(actor="test") as realm:
            realm.users.update(username, disabled=True)
    response = refresh(token_server.url, first, **asked)
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["error_description"]) == (error, description)
    row = row_of(token_server, first)
    assert row.rotated_at is None and row.successor_hash is None and row.revoked_at is None, "nothing rotated"
    with token_server.services.database.reader() as session:
        family = session.scalars(select(RefreshToken).where(RefreshToken.family_id == row.family_id)).all()
    assert len(family) == 1, "no successor left behind"
    if refusal == "disabled-user":
        with token_server.services.realm(actor="test") as realm:
            realm.users.update(username, disabled=False)
    again = refresh(token_server.url, first)
    assert again.status_code == 200, "the refused attempt did not consume the token"
    with token_server.services.realm(actor="test") as realm:
        realm.users.delete(username)
