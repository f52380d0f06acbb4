"""/admin/api/identity-providers: created, read, changed, checked and deleted; the secret is never shown back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from test_admin_support import AdminWorld, admin_world  # noqa: F401

from authgate.storage.models import AuditEvent, IdentityProvider
from testkit import free_port

SECRET = "corp-client-secret-for-tests-only"  # TEST-ONLY


def body(**changes: Any) -> dict[str, Any]:
    return {"alias": "corp", "display_name": "Corp", "issuer": f"http://127.0.0.1:{free_port()}",
            "client_id": "authgate", "client_secret": SECRET, **changes}


def test_a_provider_is_created_changed_and_its_secret_never_shown(admin_world: AdminWorld) -> None:
    with admin_world.client(admin_world.root_token) as client:
        created = client.post("/identity-providers", json=body(default_roles=["admin"]))
        assert created.status_code == 201, created.text
        view = created.json()
        assert view["client_secret_set"] is True and SECRET not in created.text
        assert view["redirect_uri"] == f"{admin_world.url}/login/idp/corp/callback"
        assert view["scopes"] == ["openid", "email", "profile"]
        assert client.post("/identity-providers", json=body()).status_code == 409
        changed = client.put("/identity-providers/corp", json={
            key: value for key, value in body(display_name="Corp SSO", disabled=True).items()
            if key not in ("alias", "client_secret")})
        assert changed.status_code == 200 and changed.json()["display_name"] == "Corp SSO"
        assert changed.json()["client_secret_set"] is True  # omitted: kept
        listed = client.get("/identity-providers").json()
        assert [item["alias"] for item in listed] == ["corp"] and SECRET not in str(listed)
        checked = client.post("/identity-providers/corp/check").json()
        assert "could not be fetched" in checked["problem"]  # nothing listens at that issuer
        assert client.delete("/identity-providers/corp").status_code == 204
        assert client.get("/identity-providers/corp").status_code == 404
    services = admin_world.server.services  # type: ignore[attr-defined]
    with services.database.reader() as session:
        changes = [event.detail["change"] for event in session.scalars(
            select(AuditEvent).where(AuditEvent.subject == "corp").order_by(AuditEvent.id))]
        assert session.scalars(select(IdentityProvider)).all() == []
    assert changes == ["identity_provider.created", "identity_provider.updated", "identity_provider.deleted"]


@pytest.mark.parametrize(("what", "changes", "field", "status"), [
    ("NUL in the alias", {"alias": "co\x00rp"}, "alias", 422),
    ("alias longer than its column", {"alias": "a" * 65}, "alias", 422),
    ("upper case alias", {"alias": "Corp"}, "alias", 422),
    ("NUL in the secret", {"client_secret": "a\x00b"}, "client_secret", 422),
    ("over-long secret", {"client_secret": "s" * 2001}, "client_secret", 422),
    ("issuer that is no URL", {"issuer": "corp"}, "issuer", 422),
    ("plain http off loopback", {"issuer": "http://login.corp.example"}, "issuer", 422),
    ("oauth2 without endpoints", {"type": "oauth2", "issuer": None}, "authorization_endpoint", 422),
    ("unknown role", {"default_roles": ["ghost"]}, None, 404),
    ("unknown claim key", {"claims": {"colour": "x"}}, "claims", 422),
], ids=lambda value: value if isinstance(value, str) else None)
def test_bad_input_is_refused_with_the_field(admin_world: AdminWorld, what: str, changes: dict[str, Any],
                                              field: str | None, status: int) -> None:
    with admin_world.client(admin_world.root_token) as client:
        response = client.post("/identity-providers", json={k: v for k, v in body(**changes).items() if v is not None})
    assert response.status_code == status, (what, response.text)
    if field is not None:
        assert response.json()["field"] == field, (what, response.text)


def test_the_console_shows_a_provider_its_problem_and_disables_it(admin_world: AdminWorld) -> None:
    from test_admin_console import hidden, log_in
    from test_admin_support import ROOT_PASSWORD

    with admin_world.client(admin_world.root_token) as client:
        assert client.post("/identity-providers", json=body()).status_code == 201
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD, start="/admin/identity-providers")
    try:
        page = browser.get("/admin/identity-providers/corp")
        assert page.status_code == 200 and f"{admin_world.url}/login/idp/corp/callback" in page.text
        assert SECRET not in page.text and "set (never shown)" in page.text
        forged = browser.post(
            "/admin/identity-providers/corp/status", data={"csrf_token": "forged", "disabled": "true"}
        )
        assert forged.status_code == 403
        checked = browser.post(
            "/admin/identity-providers/corp/check", data={"csrf_token": hidden(page.text, "csrf_token")}
        )
        assert checked.status_code == 200 and "could not be fetched" in checked.text  # reported on the page
        listed = browser.get("/admin/identity-providers")
        assert "Problem" in listed.text and "could not be fetched" in listed.text
        done = browser.post("/admin/identity-providers/corp/status",
                            data={"csrf_token": hidden(checked.text, "csrf_token"), "disabled": "true"})
        assert done.status_code == 200 and "corp disabled." in done.text
    finally:
        browser.close()
    with admin_world.client(admin_world.root_token) as client:
        assert client.get("/identity-providers/corp").json()["disabled"] is True
