"""The web console over real HTTP: login through the hosted pages, pages by permission, CSRF, logout.

A browser is simulated with httpx (cookies, redirects, the forms' hidden
fields); the Playwright test in tests/browser drives real Chromium.
"""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import select
from test_admin_support import (
    ROOT_PASSWORD,
    USER_PASSWORD,
    AdminWorld,
    admin_world,  # noqa: F401 (a fixture)
    apply,
)

from authgate.bootstrap import CONSOLE_CLIENT_ID
from authgate.storage.models import ConsoleSession


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, f"no field {name} on the page"
    return html.unescape(found.group(1))


def log_in(
    world: AdminWorld, username: str, password: str, start: str = "/admin/users"
) -> tuple[httpx.Client, httpx.Response]:
    """Follow the console's redirect to the hosted login, submit it, and follow back to the console."""
    browser = httpx.Client(base_url=world.url, follow_redirects=True, timeout=30)
    page = browser.get(start)
    assert page.url.path == "/login", page.url
    landed = browser.post("/login", data={
        "username": username, "password": password,
        "csrf_token": hidden(page.text, "csrf_token"), "return_to": hidden(page.text, "return_to"),
    })
    return browser, landed


def post_form(
    browser: httpx.Client, path: str, data: dict[str, object], *, from_page: str | None = None
) -> httpx.Response:
    page = browser.get(from_page or path)
    return browser.post(path, data={"csrf_token": hidden(page.text, "csrf_token"), **data})


def test_login_goes_through_the_hosted_login_and_keeps_tokens_off_the_browser(admin_world: AdminWorld) -> None:
    browser, landed = log_in(admin_world, "root", ROOT_PASSWORD)
    assert landed.status_code == 200 and landed.url.path == "/admin/users"
    assert "Signed in as" in landed.text and ">root<" in landed.text
    console_cookie = next(cookie for cookie in browser.cookies.jar if cookie.name == "authgate_console")
    assert console_cookie.has_nonstandard_attr("HttpOnly")
    assert not console_cookie.value.startswith("eyJ"), "the browser must hold a session id, not a token"
    # The redirect went through /authorize with PKCE S256, as any client's would.
    hops = [str(response.url) for response in landed.history]
    authorize = next(hop for hop in hops if "/authorize?" in hop)
    assert f"client_id={CONSOLE_CLIENT_ID}" in authorize and "code_challenge_method=S256" in authorize


def test_the_console_creates_a_role_a_user_holding_it_and_a_client_as_the_logged_in_admin(
    admin_world: AdminWorld,
) -> None:
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD)
    created = post_form(browser, "/admin/roles", {"name": "auditor", "description": "Reads the log"})
    assert created.url.path == "/admin/roles/auditor" and "Role auditor created" in created.text
    saved = post_form(
        browser, "/admin/roles/auditor", {"description": "Reads the log", "grant": "authgate-admin audit:read"}
    )
    assert "Role auditor saved" in saved.text
    user = post_form(browser, "/admin/users/new", {"username": "Ada", "email": "ada@example.com", "roles": "auditor",
                                                   "password": USER_PASSWORD})
    assert user.url.path == "/admin/users/ada" and "User ada created" in user.text
    client = post_form(browser, "/admin/clients/new", {
        "client_id": "reports", "type": "confidential", "grant_types": "client_credentials", "name": "Reports",
    })
    assert client.status_code == 201
    secret = re.search(r'<code class="secret" id="client-secret">([^<]+)</code>', client.text)
    assert secret, "a confidential client's generated secret is shown once"
    assert secret.group(1) not in browser.get("/admin/clients/reports").text, "and never again"
    users = browser.get("/admin/users").text
    assert "ada" in users and "auditor" in users
    assert "reports" in browser.get("/admin/clients").text
    audit = browser.get("/admin/audit", params={"subject": "ada"}).text
    assert "user.created" in audit and "user:root" in audit
    assert "<div>change: user.created</div>" in audit and "change=" not in audit, "details as text, not reprs"


@pytest.mark.parametrize("path, data", [
    ("/admin/roles", {"name": "sneaky"}),
    ("/admin/users/new", {"username": "sneaky"}),
], ids=["role", "user"])
def test_a_form_without_its_csrf_token_changes_nothing(
    admin_world: AdminWorld, path: str, data: dict[str, str]
) -> None:
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD)
    refused = browser.post(path, data=data)
    assert refused.status_code == 403 and "Form expired" in refused.text
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        assert realm.roles.find("sneaky") is None and realm.users.find("sneaky") is None


def test_pages_follow_the_permissions_in_the_admins_token(admin_world: AdminWorld) -> None:
    apply(admin_world.server, f"""
roles:
  - name: helpdesk
    permissions: {{authgate-admin: [users:read]}}
users:
  - username: helper
    password: {USER_PASSWORD}
    roles: [helpdesk]
""")
    browser, landed = log_in(admin_world, "helper", USER_PASSWORD)
    assert landed.url.path == "/admin/users"
    assert 'href="/admin/roles"' not in landed.text, "the sidebar shows only what the token allows"
    assert "Create user" not in landed.text
    roles = browser.get("/admin/roles")
    assert roles.status_code == 403 and "roles:read" in roles.text
    refused = post_form(browser, "/admin/users/new", {"username": "nope"}, from_page="/admin/users")
    assert refused.status_code == 403 and "users:write" in refused.text


def test_an_account_without_admin_permissions_is_not_let_in(admin_world: AdminWorld) -> None:
    apply(admin_world.server, f"users:\n  - username: visitor\n    password: {USER_PASSWORD}\n")
    browser, landed = log_in(admin_world, "visitor", USER_PASSWORD)
    assert landed.status_code == 403 and "no administration permissions" in landed.text
    again = browser.get("/admin/users")
    assert again.status_code == 403, "the hosted login remembers them, the console still does not let them in"
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        assert realm.session.scalar(select(ConsoleSession).where(ConsoleSession.user_id.is_not(None))) is None


def test_deleting_asks_first_and_you_cannot_delete_yourself(admin_world: AdminWorld) -> None:
    apply(admin_world.server, "users:\n  - username: leaving\n")
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD)
    confirm = browser.get("/admin/users/leaving/delete")
    assert confirm.status_code == 200 and "Delete user leaving?" in confirm.text
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        assert realm.users.find("leaving") is not None, "showing the confirmation deletes nothing"
    gone = browser.post("/admin/users/leaving/delete", data={"csrf_token": hidden(confirm.text, "csrf_token")})
    assert gone.url.path == "/admin/users" and "User leaving deleted" in gone.text
    yourself = post_form(browser, "/admin/users/root/delete", {}, from_page="/admin/users/root")
    assert yourself.status_code == 409 and "your own account" in yourself.text


def test_logout_revokes_the_token_and_ends_the_hosted_login_too(admin_world: AdminWorld) -> None:
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD)
    old_cookie = browser.cookies.get("authgate_console")
    out = post_form(browser, "/admin/logout", {}, from_page="/admin/users")
    assert out.url.path == "/admin/signed-out" and "signed out" in out.text
    assert browser.get("/admin/users").url.path == "/login", "the hosted login session ended as well"
    replay = httpx.get(f"{admin_world.url}/admin/users", cookies={"authgate_console": old_cookie or ""})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/admin/login")


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/elsewhere"],
    ids=["absolute", "scheme-relative", "outside"],
)
def test_login_never_returns_anywhere_but_the_console(admin_world: AdminWorld, target: str) -> None:
    start = httpx.get(f"{admin_world.url}/admin/login", params={"next": target})
    assert start.status_code == 303
    with admin_world.server.services.reader() as realm:  # type: ignore[attr-defined]
        assert list(realm.session.scalars(select(ConsoleSession.return_to))) == ["/admin"]
