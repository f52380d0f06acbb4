"""Browser sessions and re-authentication: prompt, max_age, id_token_hint, cookie attributes, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from oidc_client.flow import BrowserLike, Flow, query_of
from oidc_client.servers import serve_world
from sqlalchemy import update

from authgate import tokens
from authgate.clock import utcnow
from authgate.http.sessions import BrowserSessions
from authgate.storage.models import BrowserSession

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_sessions")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("sessions"))


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def logged_in(browser: BrowserLike, username: str = "barista") -> dict[str, Any]:
    flow = Flow()
    return browser.redeem(flow, browser.code_for(flow, username)).json()


def test_session_cookie_attributes(browser: BrowserLike) -> None:
    login = browser.get(Flow().url())
    response = browser.submit_login(login.headers["location"], "barista")
    assert response.status_code == 303
    header = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("authgate_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "samesite=lax" in header.lower() and "path=/" in header.lower()
    assert "secure" not in attributes  # the issuer is plain-http loopback here; see the https test below
    value = SimpleCookie(header)["authgate_session"].value
    assert len(value) >= 40


def test_session_cookie_is_secure_and_host_prefixed_under_https(make_settings: Any) -> None:
    from starlette.responses import Response

    from authgate.services import Services

    sessions = BrowserSessions(Services(make_settings(issuer="https://id.example")))
    response = Response()
    sessions.set_cookie(response, "v" * 43)
    header = response.headers["set-cookie"]
    assert header.startswith("__Host-authgate_session=") and "Secure" in header and "HttpOnly" in header


def test_login_rotates_the_session_id_and_stores_only_its_digest(browser: BrowserLike, live_server: Any) -> None:
    planted = "attacker-chosen-session-value-0123456789abcdef"
    browser.http.cookies.set("authgate_session", planted, domain="127.0.0.1")
    logged_in(browser)
    value = browser.http.cookies.get("authgate_session")
    assert value and value != planted
    with live_server.services.database.reader() as session:
        row = session.get(BrowserSession, tokens.digest(value))
        assert row is not None and row.id_hash != value


def test_prompt_none_with_a_session_returns_a_code_silently(browser: BrowserLike) -> None:
    logged_in(browser)
    response = browser.get(Flow(extra={"prompt": "none"}).url())
    assert response.status_code == 302 and "code" in query_of(response.headers["location"])


def test_prompt_login_forces_the_login_page_even_with_a_session(browser: BrowserLike) -> None:
    logged_in(browser)
    response = browser.get(Flow(extra={"prompt": "login"}).url())
    assert response.status_code == 303 and response.headers["location"].startswith("/login?")
    return_to = response.headers["location"].split("return_to=")[1].split("&login_hint")[0]
    assert "prompt" not in return_to.replace("%3D", "=")


def test_max_age_forces_login_when_auth_time_is_older(browser: BrowserLike, live_server: Any) -> None:
    first = logged_in(browser)
    import jwt

    before = jwt.decode(first["id_token"], options={"verify_signature": False})["auth_time"]
    flow = Flow(extra={"max_age": "0"})
    response = browser.get(flow.url())
    assert response.status_code == 303 and response.headers["location"].startswith("/login?")
    code = browser.code_for(flow)  # logs in again, then the request resumes
    claims = jwt.decode(browser.redeem(flow, code).json()["id_token"], options={"verify_signature": False})
    assert claims["auth_time"] >= before
    # A generous max_age does not ask again.
    assert browser.get(Flow(extra={"max_age": "10000"}).url()).status_code == 302


def test_max_age_1_forces_login_once_a_second_has_passed(browser: BrowserLike, live_server: Any) -> None:
    logged_in(browser)
    assert browser.get(Flow(extra={"max_age": "1"}).url()).status_code == 302  # fresh: no login page
    value = browser.http.cookies.get("authgate_session")
    with live_server.services.database.transaction() as session:
        session.execute(update(BrowserSession).where(BrowserSession.id_hash == tokens.digest(value))
                        .values(auth_time=utcnow() - timedelta(seconds=2)))
    response = browser.get(Flow(extra={"max_age": "1"}).url())
    assert response.status_code == 303 and response.headers["location"].startswith("/login?")


def test_max_age_with_prompt_none_and_old_login_is_login_required(browser: BrowserLike) -> None:
    logged_in(browser)
    response = browser.get(Flow(extra={"max_age": "0", "prompt": "none"}).url())
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_id_token_hint_for_the_current_user_passes_and_for_another_does_not(
    browser: BrowserLike, live_server: Any
) -> None:
    mine = logged_in(browser, "barista")["id_token"]
    other_browser = BrowserLike(live_server.url)
    try:
        theirs = logged_in(other_browser, "manager")["id_token"]
    finally:
        other_browser.close()
    ok = browser.get(Flow(extra={"prompt": "none", "id_token_hint": mine}).url())
    assert "code" in query_of(ok.headers["location"])
    refused = browser.get(Flow(extra={"prompt": "none", "id_token_hint": theirs}).url())
    assert query_of(refused.headers["location"])["error"] == "login_required"
    garbage = browser.get(Flow(extra={"id_token_hint": "not.a.jwt"}).url())
    assert query_of(garbage.headers["location"])["error"] == "invalid_request"


def test_login_hint_prefills_the_username(browser: BrowserLike) -> None:
    response = browser.get(Flow(extra={"login_hint": "manager"}).url())
    page = browser.get(response.headers["location"])
    assert 'value="manager"' in page.text


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"], ids=["idle-expiry", "absolute-expiry"])
def test_expired_sessions_are_not_honoured(browser: BrowserLike, live_server: Any, column: str) -> None:
    logged_in(browser)
    value = browser.http.cookies.get("authgate_session")
    past = utcnow() - timedelta(seconds=live_server.services.settings.session_idle_ttl + 1)
    with live_server.services.database.transaction() as session:
        this_session = update(BrowserSession).where(BrowserSession.id_hash == tokens.digest(value))
        session.execute(this_session.values(**{column: past}))
    response = browser.get(Flow(extra={"prompt": "none"}).url())
    assert query_of(response.headers["location"])["error"] == "login_required"
    with live_server.services.database.reader() as session:
        assert session.get(BrowserSession, tokens.digest(value)) is None  # deleted, not just ignored


def test_sessions_past_their_absolute_expiry_are_purged_at_the_next_login(
    browser: BrowserLike, live_server: Any
) -> None:
    logged_in(browser)
    value = browser.http.cookies.get("authgate_session")
    with live_server.services.database.transaction() as session:
        this_session = update(BrowserSession).where(BrowserSession.id_hash == tokens.digest(value))
        session.execute(this_session.values(expires_at=utcnow()))
    other = BrowserLike(live_server.url)
    try:
        logged_in(other, "manager")
    finally:
        other.close()
    with live_server.services.database.reader() as session:
        assert session.get(BrowserSession, tokens.digest(value)) is None
