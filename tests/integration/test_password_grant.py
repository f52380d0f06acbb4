"""The password grant's writes on both databases: what its refresh token stores, and one transaction.

Every login takes the same path on both databases: one transaction records the login, reads the permissions
held, narrows them (in Python) and stores the refresh token. A login after a failure of the same pair also
clears the pair's counter, in that transaction. Both must store and answer the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from test_token_world import COFFEE, INVENTORY, PASSWORD, claims_of, load_world

from authgate import audit, tokens
from authgate.oauth2 import issuance_log, warmer
from authgate.services import Services
from authgate.storage.models import AuditEvent, RefreshToken, User
from authgate.web.app import create_app
from testkit import sent_to_postgresql


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    load_world(services)
    with TestClient(create_app(services=services)) as client:
        yield client


def password_grant(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> Any:
    return client.post("/oauth/token", data={"grant_type": "password", "client_id": "coffee-app",
                                             "username": username, "password": password, **extra})


def stored_scope(services: Services, refresh_token: str) -> str:
    with services.database.reader() as session:
        stored = select(RefreshToken.scope).where(RefreshToken.token_hash == tokens.digest(refresh_token))
        return session.scalars(stored).one()


SCOPE_CASES = [
    pytest.param("barista", {}, "get:drinks get:drinks-detail", id="everything held"),
    pytest.param("barista", {"scope": "get:drinks post:drinks"}, "get:drinks", id="narrowed-and-lacking"),
    pytest.param("barista", {"scope": "offline_access get:drinks-detail"}, "offline_access get:drinks-detail",
                 id="oidc-scopes-first"),
    pytest.param("barista", {"scope": "post:drinks"}, "", id="nothing-held-of-what-was-asked"),
    pytest.param("idle", {}, "", id="user-without-roles"),
    pytest.param("manager", {}, "delete:drinks get:drinks get:drinks-detail patch:drinks post:drinks", id="sorted"),
    pytest.param("manager", {"audience": INVENTORY}, "read:stock", id="other-audience"),
]


@pytest.mark.parametrize("after_a_failure", [False, True], ids=["usual", "after-a-failure"])
@pytest.mark.parametrize(("username", "extra", "scope"), SCOPE_CASES)
def test_the_refresh_token_stores_the_scope_granted(services, client, username, extra, scope, after_a_failure):
    if after_a_failure:  # the pair has a count: the login clears it, in a transaction
        assert password_grant(client, username, "wrong").status_code == 400
    response = password_grant(client, username, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("scope", "") == scope
    assert stored_scope(services, body["refresh_token"]) == scope
    permissions = [name for name in scope.split() if name != "offline_access"]
    assert claims_of(body["access_token"])["permissions"] == permissions
    assert claims_of(body["access_token"])["aud"] == extra.get("audience", COFFEE)
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "coffee-app",
                                                  "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.json().get("scope", "") == scope


def test_a_login_records_what_it_always_recorded(services, client):
    response = password_grant(client, "BARISTA")
    assert response.status_code == 200
    with services.database.reader() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.LOGIN_SUCCEEDED)).one()
        user = session.scalars(select(User).where(User.username == "barista")).one()
    assert (event.actor, event.subject, event.client_id, event.ip, event.outcome, event.detail) == (
        None, "barista", "coffee-app", "testclient", "success", {})
    assert event.at is not None and user.last_login_at is not None


BACKGROUND_THREADS = {warmer.THREAD_NAME, issuance_log.WRITER_THREAD}


def request_statements(sent: dict[str, list[str]]) -> list[str]:
    """The first word of every statement the request sent, in order: not the background threads' (the cache
    warmer's reloads, the batched `token.issued` writer's), which run on their own clocks, whatever the request."""
    return [statement.split()[0].upper() for thread, statements in sent.items()
            if thread not in BACKGROUND_THREADS for statement in statements]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_a_login_is_one_transaction(services, client):
    password_grant(client, "barista")  # warm: clients, keys
    with sent_to_postgresql(services.database.engine) as wire:
        assert password_grant(client, "barista").status_code == 200
    sent = request_statements(wire)
    assert sent == ["SELECT", "SELECT", "BEGIN", "INSERT", "SELECT", "UPDATE", "SELECT", "INSERT", "COMMIT"], (
        "the user with the throttle's standing; whether a second factor is needed (accounts/mfa.py); then one "
        "transaction: the login.succeeded event, whether a webhook wants it (webhooks/fanout.py), last_login_at, "
        "the permissions held, the refresh token")
    password_grant(client, "barista", "wrong")
    with sent_to_postgresql(services.database.engine) as wire:
        assert password_grant(client, "barista").status_code == 200
    sent = request_statements(wire)
    assert sent.count("BEGIN") == 1 and sent.count("COMMIT") == 1, "a pair with failures to clear: the same transaction"
