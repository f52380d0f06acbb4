"""The hosted login page: what it shows, how it fails, brute-force protection, CSRF, headers, accessibility."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from oidc_client.flow import BrowserLike, Flow, hidden_fields
from oidc_client.servers import serve_world
from sqlalchemy import select

from authgate import audit
from authgate.storage.models import AuditEvent

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_pages_login")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Two failures for one account from one address lock it for 30 s, then 60 s…
    yield from serve_world(request, tmp_path_factory.mktemp("login"), lockout_pair_threshold=2, lockout_base_delay=30)


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def login_location(browser: BrowserLike) -> str:
    return browser.get(Flow().url()).headers["location"]


def test_login_page_is_accessible_and_names_the_client(browser: BrowserLike) -> None:
    page = browser.get(login_location(browser))
    html = page.text
    assert '<html lang="en">' in html
    assert "to continue to <strong>Coffee Shop</strong>" in html
    # "webauthn": the browser offers passkeys among the username's suggestions (passkeys.js, autofill).
    for field, autocomplete in (("username", "username webauthn"), ("password", "current-password")):
        assert f'<label for="{field}">' in html
        assert re.search(rf'id="{field}"[^>]*autocomplete="{autocomplete}"', html, re.DOTALL)
    assert 'aria-live="assertive"' in html and 'role="alert"' in html
    assert html.index('id="username"') < html.index('id="password"') < html.index('type="submit"')  # focus order
    assert '<link rel="stylesheet" href="/static/authgate.css">' in html


def test_pages_carry_the_security_headers(browser: BrowserLike) -> None:
    page = browser.get(login_location(browser))
    csp = page.headers["content-security-policy"]
    # The only scripts are this server's own files (passkeys.js), fetching only from this origin.
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "connect-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    css = browser.get("/static/authgate.css")
    assert css.status_code == 200 and ":focus-visible" in css.text  # visible focus


def test_wrong_password_gets_one_generic_message(browser: BrowserLike) -> None:
    location = login_location(browser)
    wrong = browser.submit_login(location, "manager", "not-the-password")
    unknown = browser.submit_login(location, "nobody-here", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "The username or password is incorrect." in response.text
        assert 'aria-invalid="true"' in response.text
    assert "authgate_session" not in browser.http.cookies


def test_successful_login_returns_to_the_request_and_is_audited(browser: BrowserLike, live_server: Any) -> None:
    response = browser.submit_login(login_location(browser), "manager")
    assert response.status_code == 303 and response.headers["location"].startswith("/authorize?")
    with live_server.services.database.reader() as session:
        logins = select(AuditEvent).where(AuditEvent.type == audit.LOGIN_SUCCEEDED, AuditEvent.subject == "manager")
        event = session.scalars(logins.order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.client_id == "coffee-spa"


def test_brute_force_protection_applies_to_the_login_page(browser: BrowserLike) -> None:
    location = login_location(browser)
    for _ in range(2):
        assert browser.submit_login(location, "other", "wrong-password-guess").status_code == 401
    throttled = browser.submit_login(location, "other")  # even the right password is refused now
    assert throttled.status_code == 429
    assert "Too many failed attempts. Try again in" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    assert "authgate_session" not in browser.http.cookies


def test_login_without_csrf_token_is_refused(browser: BrowserLike) -> None:
    page = browser.get(login_location(browser))
    fields = hidden_fields(page.text)
    fields.pop("csrf_token")
    response = browser.post("/login", data={**fields, "username": "manager", "password": "menu-board-latte-art-2024"})
    assert response.status_code == 403 and "expired" in response.text
    assert "authgate_session" not in browser.http.cookies


def test_login_with_a_foreign_csrf_token_is_refused(browser: BrowserLike) -> None:
    page = browser.get(login_location(browser))
    fields = {
        **hidden_fields(page.text), "csrf_token": "x" * 43,
        "username": "manager", "password": "menu-board-latte-art-2024",
    }
    assert browser.post("/login", data=fields).status_code == 403


def test_cross_site_post_is_refused_even_with_matching_tokens(browser: BrowserLike) -> None:
    page = browser.get(login_location(browser))
    fields = {**hidden_fields(page.text), "username": "manager", "password": "menu-board-latte-art-2024"}
    response = browser.post("/login", data=fields, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


@pytest.mark.parametrize("return_to", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/static/x"],
                         ids=["absolute", "scheme-relative", "backslash", "not-a-resumable-path"])
def test_return_to_cannot_leave_the_server(browser: BrowserLike, return_to: str) -> None:
    page = browser.get("/login?return_to=" + return_to)
    fields = {**hidden_fields(page.text), "username": "manager", "password": "menu-board-latte-art-2024"}
    assert fields["return_to"] == "/account"
    assert browser.post("/login", data=fields).headers["location"] == "/account"


def test_registration_is_off_by_default(browser: BrowserLike) -> None:
    assert browser.get("/register").status_code == 404
    assert "Create an account" not in browser.get(login_location(browser)).text
