"""Every console page refuses a browser without a console session, and an admin without the page's permission.

The pages are walked from the console's own route table (each page's
endpoint carries the permission it needs), so a page added later is covered
without touching this file.
"""

from __future__ import annotations

import re

import httpx
from test_admin_console import hidden, log_in
from test_admin_support import USER_PASSWORD, AdminWorld, admin_world, apply  # noqa: F401

from authgate.admin import console
from authgate.bootstrap import ADMIN_PERMISSIONS

MISSING = object()
EXAMPLES = {"username": "root", "name": "admin", "client_id": "authgate-console", "webhook_id": "wh_0", "alias": "corp"}


def pages() -> list[tuple[str, str, str]]:
    """(method, path, permission) of every page that needs a logged-in admin."""
    found = []
    for route in console.routes:
        permission = getattr(getattr(route, "endpoint", None), "permission", MISSING)
        if permission is MISSING or permission is None:
            continue  # the login flow and signing out: open to anyone
        path = re.sub(r"\{(\w+)\}", lambda match: EXAMPLES[match.group(1)], route.path)  # type: ignore[attr-defined]
        methods = sorted(route.methods - {"HEAD"})  # type: ignore[attr-defined]
        found.extend((method, path, permission) for method in methods)
    return found


def test_the_walk_covers_every_page_and_every_permission_a_page_needs() -> None:
    walked = pages()
    assert len(walked) >= 40
    assert {permission for _, _, permission in walked} == set(ADMIN_PERMISSIONS)


def test_without_a_console_session_every_page_sends_the_browser_to_log_in(admin_world: AdminWorld) -> None:
    with httpx.Client(base_url=admin_world.url, timeout=30) as browser:
        for method, path, _ in pages():
            response = browser.request(method, path)
            assert response.status_code == 303, f"{method} {path}: {response.status_code}"
            assert response.headers["location"].startswith("/admin/login?next="), f"{method} {path}"


def test_without_its_permission_every_page_is_403_and_changes_nothing(admin_world: AdminWorld) -> None:
    """Each admin holds every permission but one, so a 403 proves the page checks exactly its own."""
    slug = {name: name.replace(":", "-") for name in ADMIN_PERMISSIONS}
    all_but = {name: ", ".join(p for p in ADMIN_PERMISSIONS if p != name) for name in ADMIN_PERMISSIONS}
    roles = "\n".join(f"  - name: all-but-{slug[name]}\n    permissions: {{authgate-admin: [{all_but[name]}]}}"
                      for name in ADMIN_PERMISSIONS)
    users = "\n".join(
        f"  - username: lacks-{slug[name]}\n    password: {USER_PASSWORD}\n    roles: [all-but-{slug[name]}]"
        for name in ADMIN_PERMISSIONS
    )
    apply(admin_world.server, f"roles:\n{roles}\nusers:\n{users}\n")
    as_root = {"Authorization": f"Bearer {admin_world.root_token}"}
    before = httpx.get(f"{admin_world.api}/audit?type=admin.change", headers=as_root).json()
    by_permission: dict[str, list[tuple[str, str]]] = {}
    for method, path, permission in pages():
        by_permission.setdefault(permission, []).append((method, path))
    for permission, walked in by_permission.items():
        start = "/admin/audit" if permission != "audit:read" else "/admin/users"
        browser, landed = log_in(admin_world, f"lacks-{slug[permission]}", USER_PASSWORD, start=start)
        token = hidden(landed.text, "csrf_token")
        for method, path in walked:
            response = browser.request(method, path, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code == 403, f"{method} {path} as lacks-{permission}: {response.status_code}"
            assert f"needs the {permission} permission" in response.text, f"{method} {path}"
        browser.close()
    after = httpx.get(f"{admin_world.api}/audit?type=admin.change", headers=as_root).json()
    assert after["items"][0]["id"] == before["items"][0]["id"], "no refused page changed anything"
