"""Account pages: password change (current + new, policy, other sessions end) and self-registration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oidc_client.flow import BrowserLike, Flow, hidden_fields, query_of
from oidc_client.servers import serve_world

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_pages_account")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("account"), registration_enabled=True)


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def log_in(browser: BrowserLike, username: str, password: str | None = None) -> Any:
    return browser.submit_login(browser.get(Flow().url()).headers["location"], username, password)


def test_account_pages_need_a_login(browser: BrowserLike) -> None:
    for path in ("/account", "/account/password", "/account/consents"):
        response = browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?return_to={path.replace('/', '%2F')}"


def change(browser: BrowserLike, current: str, new: str, *, drop_csrf: bool = False) -> Any:
    page = browser.get("/account/password")
    fields = hidden_fields(page.text)
    if drop_csrf:
        fields.pop("csrf_token")
    return browser.post("/account/password", data={**fields, "current_password": current, "new_password": new})


CASES = [
    pytest.param(
        "wrong-current-password", "a-brand-new-long-passphrase-77", "current_password", "incorrect", id="wrong-current"
    ),
    pytest.param(None, "s3cr#t", "new_password", "at least", id="too-short"),
    pytest.param(None, "password123", "new_password", "too weak", id="common-password"),
]


@pytest.mark.parametrize(("current", "new", "field", "message"), CASES)
def test_password_change_shows_field_errors(
    browser: BrowserLike, current: str | None, new: str, field: str, message: str
) -> None:
    log_in(browser, "manager")
    response = change(browser, current or "menu-board-latte-art-2024", new)
    assert response.status_code == 400
    assert f'id="{field}-help" class="field-error">' in response.text and message in response.text
    assert 'aria-invalid="true"' in response.text


def test_password_change_without_csrf_is_refused(browser: BrowserLike) -> None:
    log_in(browser, "manager")
    response = change(browser, "menu-board-latte-art-2024", "a-brand-new-long-passphrase-77", drop_csrf=True)
    assert response.status_code == 403


def test_password_change_works_and_ends_other_sessions(live_server: Any) -> None:
    me, elsewhere = BrowserLike(live_server.url), BrowserLike(live_server.url)
    try:
        log_in(me, "other", "oat-milk-cortado-3141")
        log_in(elsewhere, "other", "oat-milk-cortado-3141")
        done = change(me, "oat-milk-cortado-3141", "steamed-milk-microfoam-2718")
        assert done.status_code == 303 and done.headers["location"] == "/account?changed=password"
        assert "Your password was changed." in me.get(done.headers["location"]).text
        silent = elsewhere.get(Flow(extra={"prompt": "none"}).url())
        assert query_of(silent.headers["location"])["error"] == "login_required"
        fresh = BrowserLike(live_server.url)
        assert log_in(fresh, "other", "oat-milk-cortado-3141").status_code == 401
        assert log_in(fresh, "other", "steamed-milk-microfoam-2718").status_code == 303
        fresh.close()
    finally:
        me.close()
        elsewhere.close()


def test_a_password_change_is_audited_once_as_its_own_kind(live_server: Any) -> None:
    from authgate import audit

    with live_server.services.realm(actor="test") as realm:
        realm.users.create("pat", password="flat-white-double-shot-5150")
    me = BrowserLike(live_server.url)
    try:
        log_in(me, "pat", "flat-white-double-shot-5150")
        assert change(me, "flat-white-double-shot-5150", "ristretto-pour-over-6021").status_code == 303
    finally:
        me.close()
    with live_server.services.database.reader() as session:
        events = audit.query(session, user="pat")
        kinds = [event.type for event in events]
        changes = [event.detail["change"] for event in events if event.type == audit.ADMIN_CHANGE]
    assert kinds.count(audit.LOGIN_SUCCEEDED) == 1, kinds  # the login, not the password check
    assert kinds.count(audit.PASSWORD_CHANGED) == 1 and kinds[0] == audit.PASSWORD_CHANGED, kinds
    assert changes == ["user.created"], "the person's own change is no admin change"


def register(browser: BrowserLike, **values: str) -> Any:
    page = browser.get("/register?return_to=" + "%2Faccount")
    assert page.status_code == 200
    return browser.post("/register", data={**hidden_fields(page.text), **values})


def test_registration_enforces_the_policy_and_shows_the_field_error(browser: BrowserLike) -> None:
    response = register(browser, username="newbie", password="12345678")
    assert response.status_code == 400
    assert 'id="password-help" class="field-error">' in response.text and "too weak" in response.text
    assert 'value="newbie"' in response.text  # what was typed is kept, the password is not
    taken = register(browser, username="manager", password="a-brand-new-long-passphrase-77")
    assert taken.status_code == 400 and "taken" in taken.text


def test_registration_creates_an_account_and_logs_in(browser: BrowserLike) -> None:
    response = register(browser, username="Newcomer", email="new@coffee.example", name="New Comer",
                        password="first-cup-of-the-morning-99")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert "Signed in as <strong>newcomer</strong>" in browser.get("/account").text


def test_login_page_links_to_registration_when_enabled(live_server: Any) -> None:
    stranger = BrowserLike(live_server.url)
    try:
        assert "Create an account" in stranger.get(stranger.get(Flow().url()).headers["location"]).text
    finally:
        stranger.close()
