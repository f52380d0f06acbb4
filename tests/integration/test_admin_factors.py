"""The admin API on a user's factors, on both databases: listed without secrets, removed (audited) with the user's
sessions and refresh tokens; bad paths answered in the admin API's error shape; `require_mfa` on roles."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from sqlalchemy import select
from test_admin_support import AdminWorld, admin_world  # noqa: F401

from authgate import audit
from authgate.accounts import recovery_codes, totp
from authgate.http.sessions import BrowserSessions
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.storage.models import AuditEvent, BrowserSession, RefreshToken

PASSWORD = "granite-orchard-velvet-3301"  # TEST FIXTURE ONLY


def call(world: AdminWorld, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, f"{world.api}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {world.root_token}"})


def enrolled_user(world: AdminWorld, username: str) -> int:
    services = world.server.services  # type: ignore[attr-defined]
    with services.realm(actor="test") as realm:
        user_id = realm.users.create(username, password=PASSWORD).id
        secret = totp.begin(realm.session, services.factor_secrets, user_id, account_name=username, issuer="t").secret
    with services.database.transaction() as session:
        assert totp.confirm(session, services.factor_secrets, user_id, pyotp.TOTP(secret).now())
        recovery_codes.generate(session, services.factor_secrets, user_id)
    return user_id


def test_factors_are_listed_without_secrets_and_removal_ends_sessions(admin_world: AdminWorld) -> None:
    services = admin_world.server.services  # type: ignore[attr-defined]
    user_id = enrolled_user(admin_world, "fran")
    BrowserSessions(services).start(user_id, amr=("pwd", "otp", "mfa"), ip=None, user_agent=None)
    with services.database.transaction() as session:
        services.oauth2.refresh_tokens.issue(session, RefreshGrant(client_id="c", user_id=user_id, audience=None))
    listed = call(admin_world, "GET", "/users/fran/factors")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(item["kind"], item["second_factor"], item["detail"]) for item in body] == [
        ("totp", True, None), ("recovery_codes", False, "10 of 10 left")]
    assert "secret" not in listed.text and "hash" not in listed.text
    removed = call(admin_world, "DELETE", f"/users/fran/factors/totp/{body[0]['id']}")
    assert removed.status_code == 204, removed.text
    assert call(admin_world, "GET", "/users/fran/factors").json() == []  # the recovery codes went with it
    with services.database.reader() as session:
        assert session.scalars(select(RefreshToken.revoked_at).where(RefreshToken.user_id == user_id)).one() is not None
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.FACTOR_REMOVED)).one()
    assert event.actor == "user:root" and event.subject == "fran"
    with services.database.reader() as session:
        assert session.scalars(select(BrowserSession).where(BrowserSession.user_id == user_id)).all() == []


BAD = [
    pytest.param("/users/nobody/factors", "GET", 404, id="unknown-user"),
    pytest.param("/users/fran2/factors/totp/999999", "DELETE", 404, id="unknown-factor"),
    pytest.param("/users/fran2/factors/sms/1", "DELETE", 404, id="unknown-kind"),
    pytest.param("/users/fran2/factors/totp/9999999999", "DELETE", 404, id="id-beyond-the-column"),
    pytest.param("/users/fran2/factors/passkey/2147483648", "DELETE", 404, id="passkey-id-beyond-the-column"),
    pytest.param("/users/fran2/factors/totp/" + "9" * 500, "DELETE", 422, id="over-long-id"),
    pytest.param("/users/fran2/factors/TOTP%00/1", "DELETE", 422, id="nul-in-kind"),
    pytest.param("/users/fran2/factors/totp/%C3%A9", "DELETE", 422, id="non-ascii-id"),
]


@pytest.mark.parametrize(("path", "method", "status"), BAD)
def test_bad_factor_paths_get_the_admin_error_shape(
    admin_world: AdminWorld, path: str, method: str, status: int
) -> None:
    if "fran2" in path:
        enrolled_user(admin_world, "fran2")
    response = call(admin_world, method, path)
    assert response.status_code == status, response.text
    assert response.json()["error_description"]


def test_roles_carry_require_mfa_through_the_admin_api(admin_world: AdminWorld) -> None:
    created = call(admin_world, "POST", "/roles", {"name": "auditor", "require_mfa": True})
    assert created.status_code == 201 and created.json()["require_mfa"] is True
    unchanged = call(admin_world, "PATCH", "/roles/auditor", {"description": "Reads the books"})
    assert unchanged.json()["require_mfa"] is True  # absent: unchanged
    assert call(admin_world, "PATCH", "/roles/auditor", {"require_mfa": None}).json()["require_mfa"] is None
    assert call(admin_world, "PATCH", "/roles/auditor", {"require_mfa": "yes please"}).status_code == 422
