"""Token revocation (RFC 7009) over real HTTP: refresh families, access tokens, hints, foreign and unknown tokens."""

from __future__ import annotations

import httpx
import pytest
from test_token_world import BACKOFFICE_SECRET, HTTP, REPORT_SECRET, basic, password_login, token, token_server

from authgate import audit

__all__ = ["token_server"]


def revoke(url: str, data: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
    return HTTP.post(url + "/oauth/revoke", data=data, headers=headers or {})


def introspect(url: str, value: str) -> dict:
    answer = HTTP.post(url + "/oauth/introspect", data={"token": value}, headers=basic("nightly-report", REPORT_SECRET))
    return answer.json()


def refresh(url: str, refresh_token: str) -> httpx.Response:
    return token(url, {"grant_type": "refresh_token", "client_id": "coffee-app", "refresh_token": refresh_token})


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something_else"])
def test_revoking_a_refresh_token_revokes_its_family(token_server, hint):
    first = password_login(token_server.url).json()["refresh_token"]
    second = refresh(token_server.url, first).json()["refresh_token"]
    data = {"client_id": "coffee-app", "token": second, **({"token_type_hint": hint} if hint else {})}
    response = revoke(token_server.url, data)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert refresh(token_server.url, second).json()["error"] == "invalid_grant"
    retried = refresh(token_server.url, first)
    assert retried.json()["error"] == "invalid_grant", "a grace retry of the predecessor is dead too"


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_an_access_token_makes_it_inactive(token_server, hint):
    access = password_login(token_server.url).json()["access_token"]
    assert introspect(token_server.url, access)["active"] is True
    data = {"client_id": "coffee-app", "token": access, **({"token_type_hint": hint} if hint else {})}
    assert revoke(token_server.url, data).status_code == 200
    assert introspect(token_server.url, access) == {"active": False}


def test_a_confidential_client_revokes_with_basic(token_server):
    backoffice = basic("backoffice", BACKOFFICE_SECRET)
    issued = token(token_server.url, {"grant_type": "client_credentials"}, backoffice).json()
    assert revoke(token_server.url, {"token": issued["access_token"]}, backoffice).status_code == 200
    assert introspect(token_server.url, issued["access_token"]) == {"active": False}


def test_another_clients_token_is_left_alone_with_200(token_server):
    login = password_login(token_server.url).json()
    for value in (login["refresh_token"], login["access_token"]):
        response = revoke(token_server.url, {"token": value}, basic("backoffice", BACKOFFICE_SECRET))
        assert response.status_code == 200  # RFC 7009 §2.2: no hint that the token exists
    assert introspect(token_server.url, login["access_token"])["active"] is True
    assert refresh(token_server.url, login["refresh_token"]).status_code == 200


@pytest.mark.parametrize("value", ["never-issued", "a.b.c", "x" * 5000])
def test_unknown_tokens_get_200(token_server, value):
    assert revoke(token_server.url, {"client_id": "coffee-app", "token": value}).status_code == 200


@pytest.mark.parametrize(("data", "headers", "status", "error"), [
    pytest.param({"token": "x"}, {}, 401, "invalid_client", id="no-client"),
    pytest.param({"token": "x"}, basic("backoffice", "wrong" * 8), 401, "invalid_client", id="wrong-secret"),
    pytest.param({"client_id": "coffee-app"}, {}, 400, "invalid_request", id="no-token"),
])
def test_revocation_errors(token_server, data, headers, status, error):
    response = revoke(token_server.url, data, headers)
    assert response.status_code == status and response.json()["error"] == error


def test_revocation_is_audited(token_server):
    login = password_login(token_server.url, "manager").json()
    revoke(token_server.url, {"client_id": "coffee-app", "token": login["refresh_token"]})
    revoke(token_server.url, {"client_id": "coffee-app", "token": login["access_token"]})
    with token_server.services.database.reader() as session:
        revocations = audit.query(session, type_prefix=audit.TOKEN_REVOKED, subject="manager")
        kinds = {e.detail.get("token_type") for e in revocations}
    assert kinds == {"refresh_token", "access_token"}, "both revocations name the user, so `audit --user` finds them"
