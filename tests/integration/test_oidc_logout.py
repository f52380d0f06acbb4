"""RP-initiated logout: id_token_hint, registered post-logout redirect only, state, confirmation, CSRF, audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from oidc_client.flow import BrowserLike, Flow, hidden_fields, query_of
from oidc_client.servers import serve_world
from sqlalchemy import select

from authgate import audit
from authgate.storage.models import AuditEvent

POST_LOGOUT = "http://127.0.0.1:5000/"


# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_logout")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("logout"))


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def logged_in(browser: BrowserLike) -> dict[str, Any]:
    flow = Flow()
    return browser.redeem(flow, browser.code_for(flow)).json()


def still_logged_in(browser: BrowserLike) -> bool:
    response = browser.get(Flow(extra={"prompt": "none"}).url())
    return "code" in query_of(response.headers["location"])


def test_logout_with_hint_redirects_with_state_and_ends_the_session(browser: BrowserLike, live_server: Any) -> None:
    tokens = logged_in(browser)
    query = urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT, "state": "bye-123"}
    )
    response = browser.get("/logout?" + query)
    assert response.status_code == 303
    assert response.headers["location"] == POST_LOGOUT + "?state=bye-123"
    assert not still_logged_in(browser)
    # The refresh token issued under that session is revoked with it.
    refreshed = httpx.post(live_server.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "coffee-spa"})
    assert refreshed.json()["error"] == "invalid_grant"
    with live_server.services.database.reader() as session:
        logouts = select(AuditEvent).where(AuditEvent.type == audit.LOGOUT, AuditEvent.subject == "barista")
        assert session.scalars(logouts).first()


def test_expired_hint_is_still_accepted(browser: BrowserLike, live_server: Any) -> None:
    import time

    import jwt

    from authgate.oauth2.keys import ID_TOKEN_ALGORITHM

    logged_in(browser)
    key = live_server.services.keys.signing_key(ID_TOKEN_ALGORITHM)
    sub = jwt.decode(logged_in(browser)["id_token"], options={"verify_signature": False})["sub"]
    claims = {"iss": live_server.url, "sub": sub, "aud": "coffee-spa", "iat": 1, "exp": int(time.time()) - 3600}
    expired = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    response = browser.get("/logout?" + urlencode({"id_token_hint": expired, "post_logout_redirect_uri": POST_LOGOUT}))
    assert response.status_code == 303 and response.headers["location"] == POST_LOGOUT


BAD_REDIRECTS = [
    pytest.param({"post_logout_redirect_uri": "https://evil.example/"}, id="unregistered-uri"),
    pytest.param({"post_logout_redirect_uri": POST_LOGOUT + "x"}, id="not-an-exact-match"),
    pytest.param({"post_logout_redirect_uri": POST_LOGOUT, "client_id": "partner"}, id="client-id-disagrees-with-hint"),
]


@pytest.mark.parametrize("params", BAD_REDIRECTS)
def test_logout_never_redirects_to_an_unregistered_uri(browser: BrowserLike, params: dict[str, str]) -> None:
    tokens = logged_in(browser)
    response = browser.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"], **params}))
    assert "location" not in response.headers
    if response.status_code == 200 and "Sign out?" in response.text:  # the hint was refused: confirm first
        fields = hidden_fields(response.text)
        response = browser.post("/logout", data=fields)
        assert "location" not in response.headers
    assert response.status_code == 200 and "You are signed out" in response.text
    assert not still_logged_in(browser)


def test_without_hint_a_confirmation_is_asked_and_needs_the_csrf_token(browser: BrowserLike) -> None:
    logged_in(browser)
    page = browser.get(
        "/logout?" + urlencode({"client_id": "coffee-spa", "post_logout_redirect_uri": POST_LOGOUT, "state": "s1"})
    )
    assert page.status_code == 200 and "Sign out?" in page.text
    assert still_logged_in(browser)
    fields = hidden_fields(page.text)
    forged = browser.post("/logout", data={k: v for k, v in fields.items() if k != "csrf_token"})
    assert forged.status_code == 403 and still_logged_in(browser)
    confirmed = browser.post("/logout", data=fields)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == POST_LOGOUT + "?state=s1"
    assert not still_logged_in(browser)


def test_bad_hint_is_not_trusted(browser: BrowserLike) -> None:
    logged_in(browser)
    unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."
    page = browser.get("/logout?" + urlencode({"id_token_hint": unsigned, "post_logout_redirect_uri": POST_LOGOUT}))
    assert page.status_code == 200 and "Sign out?" in page.text and still_logged_in(browser)


def test_logout_without_a_session_just_finishes(browser: BrowserLike) -> None:
    response = browser.get("/logout?" + urlencode({"client_id": "coffee-spa", "post_logout_redirect_uri": POST_LOGOUT}))
    assert response.status_code == 303 and response.headers["location"] == POST_LOGOUT
