"""Every console form refuses a CSRF token not bound to this browser's console session.

Walked from the console's route table: each POST gets, in the victim's browser, a
planted cookie equal to the field, and a genuine cookie-and-token pair from the
same admin's other console session. Each is the console's "Form expired" page
(403), and nothing changes: not the realm (the audit log), not the session.
"""

from __future__ import annotations

import re

import httpx
from test_admin_console import hidden, log_in
from test_admin_support import ROOT_PASSWORD, AdminWorld, admin_world  # noqa: F401 (admin_world: a fixture)

from authgate.admin import console

CSRF_COOKIE = "authgate_csrf"
EXAMPLES = {"username": "root", "name": "admin", "client_id": "authgate-console", "webhook_id": "wh_0", "alias": "corp"}


def posts() -> list[str]:
    """The path of every console form that needs a logged-in admin."""
    found = []
    for route in console.routes:
        if "POST" in getattr(route, "methods", set()) and hasattr(
            getattr(route, "endpoint", None), "permission"
        ):
            path: str = route.path  # type: ignore[attr-defined]
            found.append(re.sub(r"\{(\w+)\}", lambda match: EXAMPLES[match.group(1)], path))
    return found


def plant(browser: httpx.Client, value: str) -> None:
    browser.cookies.delete(CSRF_COOKIE)
    browser.cookies.set(CSRF_COOKIE, value, domain="127.0.0.1", path="/")


def test_every_console_form_refuses_a_token_of_another_session(admin_world: AdminWorld) -> None:
    assert len(posts()) >= 20 and "/admin/logout" in posts()
    victim, _ = log_in(admin_world, "root", ROOT_PASSWORD)
    attacker, theirs = log_in(admin_world, "root", ROOT_PASSWORD)
    own_secret, their_secret = victim.cookies[CSRF_COOKIE], attacker.cookies[CSRF_COOKIE]
    their_token = hidden(theirs.text, "csrf_token")
    audit = {"Authorization": f"Bearer {admin_world.root_token}"}
    changes = f"{admin_world.api}/audit?type=admin.change"
    before = httpx.get(changes, headers=audit).json()["items"]
    for path in posts():
        for description, secret, token in [
            ("an equal cookie and field", "f" * 43, "f" * 43),
            ("another session's genuine pair", their_secret, their_token),
            ("another session's token", own_secret, their_token),
        ]:
            plant(victim, secret)
            refused = victim.post(path, data={"csrf_token": token}, follow_redirects=False)
            assert refused.status_code == 403, f"{path}, {description}: {refused.status_code}"
            assert "Form expired" in refused.text, f"{path}, {description}"
    plant(victim, own_secret)
    assert httpx.get(changes, headers=audit).json()["items"] == before, "no admin change"
    page = victim.get("/admin/roles")
    assert page.status_code == 200 and page.url.path == "/admin/roles", "still signed in"
    created = victim.post(
        "/admin/roles", data={"csrf_token": hidden(page.text, "csrf_token"), "name": "own-token"}
    )
    assert created.status_code == 200 and "Role own-token created" in created.text, (
        "this session's own token works"
    )
    victim.close()
    attacker.close()
