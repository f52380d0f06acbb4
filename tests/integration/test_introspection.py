"""Token introspection (RFC 7662): what an active token says, and that everything else is just inactive."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import update
from test_token_world import (
    BACKOFFICE_SECRET,
    COFFEE,
    HTTP,
    PASSWORD,
    REPORT_SECRET,
    basic,
    claims_of,
    password_login,
    token,
    token_server,
)

from authgate import tokens
from authgate.clock import utcnow
from authgate.storage.models import RefreshToken

__all__ = ["token_server"]
INACTIVE = {"active": False}


def introspect(
    url: str, value: str, client: tuple[str, str] = ("nightly-report", REPORT_SECRET), **extra: str
) -> httpx.Response:
    return HTTP.post(url + "/oauth/introspect", data={"token": value, **extra}, headers=basic(*client))


def test_an_active_user_access_token(token_server):
    access = password_login(token_server.url, "manager", scope="get:drinks post:drinks").json()["access_token"]
    response = introspect(token_server.url, access)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    answer = response.json()
    claims = claims_of(access)
    assert answer["active"] is True and answer["token_type"] == "Bearer"
    assert answer["username"] == "manager" and answer["sub"] == claims["sub"]
    assert answer["permissions"] == ["get:drinks", "post:drinks"] and answer["scope"] == "get:drinks post:drinks"
    for name in ("client_id", "exp", "iat", "aud", "iss", "jti"):
        assert answer[name] == claims[name], name


def test_an_active_machine_access_token_has_no_username(token_server):
    issued = token(token_server.url, {"grant_type": "client_credentials"}, basic("backoffice", BACKOFFICE_SECRET))
    access = issued.json()["access_token"]
    answer = introspect(token_server.url, access).json()
    assert answer["active"] is True and answer["sub"] == answer["client_id"] == "backoffice"
    assert "username" not in answer and answer["aud"] == COFFEE


def test_a_refresh_token_is_active_only_to_its_own_client(token_server):
    issued = token(token_server.url, {"grant_type": "password", "username": "barista", "password": PASSWORD},
                   basic("backoffice", BACKOFFICE_SECRET)).json()
    own = introspect(
        token_server.url, issued["refresh_token"], ("backoffice", BACKOFFICE_SECRET), token_type_hint="refresh_token"
    ).json()
    assert own["active"] is True and own["token_type"] == "refresh_token" and own["username"] == "barista"
    assert introspect(token_server.url, issued["refresh_token"]).json() == INACTIVE, "another client's refresh token"


def foreign_token() -> str:
    """A well-formed at+jwt from someone else's key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    claims = {
        "iss": "https://other.example", "sub": "1", "aud": COFFEE, "exp": now + 600, "iat": now, "jti": "x",
        "client_id": "c",
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "at+jwt", "kid": "other"})


def expired_token(server) -> str:
    key = server.services.keys.signing_key()
    now = int(time.time())
    claims = {
        "iss": server.url, "sub": "1", "aud": COFFEE, "exp": now - 600, "iat": now - 1200, "jti": "old",
        "client_id": "coffee-app",
    }
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"typ": "at+jwt", "kid": key.kid})


def revoked_access(server) -> str:
    access = password_login(server.url).json()["access_token"]
    HTTP.post(server.url + "/oauth/revoke", data={"client_id": "coffee-app", "token": access})
    return access


def rotated_refresh(server) -> str:
    issued = password_login(server.url).json()["refresh_token"]
    token(server.url, {"grant_type": "refresh_token", "client_id": "coffee-app", "refresh_token": issued})
    return issued


def expired_refresh(server) -> str:
    issued = password_login(server.url).json()["refresh_token"]
    with server.services.database.transaction() as session:
        session.execute(update(RefreshToken).where(RefreshToken.token_hash == tokens.digest(issued))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    return issued


INACTIVE_CASES = {
    "revoked-access-token": revoked_access,
    "expired-access-token": expired_token,
    "foreign-access-token": lambda server: foreign_token(),
    "malformed": lambda server: "not.a.jwt",
    "garbage": lambda server: "%%%",
    "rotated-out-refresh-token": rotated_refresh,
    "expired-refresh-token": expired_refresh,
    "huge": lambda server: "a" * 9000,
}


@pytest.mark.parametrize("make", list(INACTIVE_CASES.values()), ids=list(INACTIVE_CASES))
def test_inactive_tokens_say_only_that(token_server, make):
    response = introspect(token_server.url, make(token_server))
    assert response.status_code == 200 and response.json() == INACTIVE


@pytest.mark.parametrize(("data", "headers", "status", "error"), [
    pytest.param({"token": "x", "client_id": "coffee-app"}, {}, 401, "invalid_client", id="public-client"),
    pytest.param({"token": "x"}, {}, 401, "invalid_client", id="no-client"),
    pytest.param({"token": "x"}, basic("nightly-report", "wrong" * 8), 401, "invalid_client", id="wrong-secret"),
    pytest.param({}, basic("nightly-report", REPORT_SECRET), 400, "invalid_request", id="no-token"),
])
def test_introspection_needs_an_authenticated_confidential_client(token_server, data, headers, status, error):
    response = HTTP.post(token_server.url + "/oauth/introspect", data=data, headers=headers)
    assert response.status_code == status and response.json()["error"] == error
