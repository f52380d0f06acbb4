"""Invitations and the admin's email operations over the admin API, real HTTP and real SMTP (aiosmtpd)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from oidc_client.flow import BrowserLike, Flow, hidden_fields
from oidc_client.servers import serve_world
from sqlalchemy import select
from test_admin_support import ROOT_PASSWORD, TOOL_REALM, apply, password_token

from authgate import bootstrap
from authgate.storage.models import AuditEvent, User
from smtp_mailbox import SmtpServer, code_in, link_in

pytestmark = pytest.mark.xdist_group("test_invitations_and_admin_mail")
PASSWORD = "macchiato-foam-ristretto-8080"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Iterator[Any]:
    for server in serve_world(request, tmp_path_factory.mktemp("invite"), smtp_url=smtp.url):
        bootstrap.initialize(server.services, admin_username="root", admin_password=ROOT_PASSWORD)
        apply(server, TOOL_REALM)
        server.admin = httpx.Client(
            base_url=f"{server.url}/admin/api",
            timeout=30,
            headers={
                "Authorization": f"Bearer {password_token(server.url, 'root', ROOT_PASSWORD)}"
            },
        )
        yield server
        server.admin.close()


def delivered(server: Any, smtp: SmtpServer, to: str, count: int = 1) -> list[Any]:
    deadline = time.monotonic() + 10
    while len(smtp.mailbox.to(to)) < count:
        assert time.monotonic() < deadline, f"{count} message(s) to {to} expected"
        server.services.outbox.run_until_idle()
        time.sleep(0.01)
    return smtp.mailbox.to(to)


def login_status(server: Any, username: str, password: str) -> int:
    browser = BrowserLike(server.url)
    try:
        return browser.submit_login(
            browser.get(Flow().url()).headers["location"], username, password
        ).status_code
    finally:
        browser.close()


def accept(server: Any, path: str, password: str = PASSWORD) -> httpx.Response:
    browser = BrowserLike(server.url)
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return browser.post("/invitation", data={**hidden_fields(page.text), "password": password})


def test_an_invited_person_sets_a_password_and_holds_the_role(
    live_server: Any, smtp: SmtpServer
) -> None:
    email = f"new-{secrets.token_hex(4)}@coffee.example"
    created = live_server.admin.post("/invitations", json={"email": email, "roles": ["barista"]})
    assert (
        created.status_code == 201
        and created.json()["username"] == email
        and created.json()["roles"] == ["barista"]
    )
    assert login_status(live_server, email, PASSWORD) == 401  # no password yet
    pending = live_server.admin.get("/invitations").json()
    assert {"username": email, "email": email}.items() <= next(
        i for i in pending if i["email"] == email
    ).items()
    path = link_in(delivered(live_server, smtp, email)[0], "/invitation").removeprefix(
        live_server.url
    )
    page = BrowserLike(live_server.url).get(path)
    assert f"Your username is {email}" in page.text
    done = accept(live_server, path)
    assert done.status_code == 200 and "Your account is ready" in done.text
    assert login_status(live_server, email, PASSWORD) == 303
    user = live_server.admin.get(f"/users/{email}").json()
    assert user["email_verified"] is True
    assert BrowserLike(live_server.url).get(path).status_code == 400  # used
    with live_server.services.reader() as realm:
        types = set(
            realm.session.scalars(select(AuditEvent.type).where(AuditEvent.subject == email))
        )
        assert {"invitation.sent", "invitation.accepted"} <= types


def test_a_resent_invitation_replaces_the_old_link_and_the_code_works(
    live_server: Any, smtp: SmtpServer
) -> None:
    email = f"again-{secrets.token_hex(4)}@coffee.example"
    live_server.admin.post("/invitations", json={"email": email})
    assert live_server.admin.post(f"/invitations/{email}/resend").status_code == 202
    messages = delivered(live_server, smtp, email, count=2)[:2]  # in either order (two senders may race)
    opened = {
        BrowserLike(live_server.url)
        .get(link_in(m, "/invitation").removeprefix(live_server.url))
        .status_code: m
        for m in messages
    }
    assert sorted(opened) == [200, 400]  # only the newest link works
    browser = BrowserLike(live_server.url)
    fields = hidden_fields(browser.get("/invitation").text)
    done = browser.post(
        "/invitation",
        data={**fields, "email": email, "code": code_in(opened[200]), "password": PASSWORD},
    )
    assert done.status_code == 200
    assert login_status(live_server, email, PASSWORD) == 303


def test_a_revoked_invitation_stops_working_and_its_account_goes(
    live_server: Any, smtp: SmtpServer
) -> None:
    email = f"gone-{secrets.token_hex(4)}@coffee.example"
    live_server.admin.post("/invitations", json={"email": email})
    path = link_in(delivered(live_server, smtp, email)[0], "/invitation").removeprefix(
        live_server.url
    )
    assert live_server.admin.delete(f"/invitations/{email}").status_code == 204
    assert BrowserLike(live_server.url).get(path).status_code == 400
    assert live_server.admin.get(f"/users/{email}").status_code == 404
    assert (
        live_server.admin.delete("/invitations/barista").status_code == 409
    )  # not an open invitation


def test_an_expired_invitation_is_refused(live_server: Any, smtp: SmtpServer) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from authgate.clock import utcnow
    from authgate.storage.models import EmailToken

    email = f"late-{secrets.token_hex(4)}@coffee.example"
    live_server.admin.post("/invitations", json={"email": email})
    path = link_in(delivered(live_server, smtp, email)[0], "/invitation").removeprefix(
        live_server.url
    )
    with live_server.services.realm("test") as realm:
        user_id = realm.session.scalar(select(User.id).where(User.email == email))
        realm.session.execute(
            update(EmailToken)
            .where(EmailToken.user_id == user_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert BrowserLike(live_server.url).get(path).status_code == 400


BAD_INVITES = [
    pytest.param({"email": "not-an-address"}, id="malformed"),
    pytest.param({"email": "a@coffee.example\r\nBcc: victim@example.com"}, id="header-injection"),
    pytest.param({"email": "x" * 400 + "@coffee.example"}, id="over-long"),
    pytest.param({"email": "barista@coffee.example"}, id="address-taken"),
    pytest.param({"email": "ok@coffee.example", "roles": ["ghost"]}, id="unknown-role"),
]


@pytest.mark.parametrize("body", BAD_INVITES)
def test_bad_invitations_are_refused_and_send_nothing(
    live_server: Any, smtp: SmtpServer, body: dict[str, Any]
) -> None:
    before = len(smtp.mailbox.messages)
    response = live_server.admin.post("/invitations", json=body)
    assert response.status_code in (404, 409, 422) and response.json()["error"]
    live_server.services.outbox.run_until_idle()
    assert len(smtp.mailbox.messages) == before


def test_admins_send_resets_and_verification_and_see_the_outbox(
    live_server: Any, smtp: SmtpServer
) -> None:
    name = "a" + secrets.token_hex(4)
    email = f"{name}@coffee.example"
    created = live_server.admin.post("/users", json={"username": name, "email": email})
    assert created.status_code == 201
    assert live_server.admin.post(f"/users/{name}/password-reset").status_code == 202
    verify, reset = sorted(
        delivered(live_server, smtp, email, count=2)[:2], key=lambda m: "Reset" in m["Subject"]
    )
    assert "Confirm your email" in verify["Subject"] and "/email/verify?token=" in str(
        verify.get_body().get_content()
    )
    assert "Reset your" in reset["Subject"]
    assert live_server.admin.post(f"/users/{name}/verification").status_code == 202
    assert live_server.admin.post("/users/other/password-reset").status_code == 422  # no address
    listed = live_server.admin.get("/outbox", params={"limit": 50}).json()["items"]
    mine = [m for m in listed if m["target"] == email]
    assert len(mine) == 3 and {"status", "attempts", "message_id", "subject"} <= set(mine[0])
    assert all("text" not in m and "html" not in m for m in mine)
    sent = next(m for m in mine if m["status"] == "sent")
    one = live_server.admin.get(f"/outbox/{sent['message_id']}").json()
    assert one["status"] == "sent" and one["attempts"] >= 1
    assert live_server.admin.get("/outbox/" + "0" * 32).status_code == 404
    assert live_server.admin.get("/outbox/not-an-id").status_code == 422


def test_an_admin_change_of_address_is_unverified_and_sends_a_link(
    live_server: Any, smtp: SmtpServer
) -> None:
    name = "c" + secrets.token_hex(4)
    live_server.admin.post(
        "/users", json={"username": name, "email": f"{name}@coffee.example", "email_verified": True}
    )
    changed = live_server.admin.patch(f"/users/{name}", json={"email": f"{name}-2@coffee.example"})
    assert changed.status_code == 200 and changed.json()["email_verified"] is False
    [message] = delivered(live_server, smtp, f"{name}-2@coffee.example")
    assert "Confirm your email" in message["Subject"]
    assert smtp.mailbox.to(f"{name}@coffee.example") == []  # created verified: no message then


def console_login(server: Any) -> httpx.Client:
    browser = httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)
    page = browser.get("/admin/mail")
    fields = hidden_fields(page.text)
    landed = browser.post("/login", data={**fields, "username": "root", "password": ROOT_PASSWORD})
    assert landed.url.path == "/admin/mail", landed.url
    return browser


def console_post(
    browser: httpx.Client, path: str, data: dict[str, str], page: str
) -> httpx.Response:
    return browser.post(
        path,
        data={
            **{k: v for k, v in hidden_fields(browser.get(page).text).items() if k == "csrf_token"},
            **data,
        },
    )


def test_the_console_invites_resends_revokes_sends_resets_and_shows_the_outbox(
    live_server: Any, smtp: SmtpServer
) -> None:
    browser = console_login(live_server)
    email = f"console-{secrets.token_hex(4)}@coffee.example"
    invited = console_post(
        browser, "/admin/invitations", {"email": email, "roles": "barista"}, "/admin/mail"
    )
    assert f"Invitation to {email} queued." in invited.text and email in invited.text
    assert "Resend" in invited.text
    again = console_post(browser, f"/admin/invitations/{email}/resend", {}, "/admin/mail")
    assert "sent again" in again.text
    assert len(delivered(live_server, smtp, email, count=2)) == 2
    page = browser.get("/admin/mail").text
    assert email in page and "You are invited" in page and ">sent<" in page
    revoked = console_post(browser, f"/admin/invitations/{email}/revoke", {}, "/admin/mail")
    assert "revoked" in revoked.text
    bad = console_post(
        browser,
        "/admin/invitations",
        {"email": "x@coffee.example\r\nBcc: y@example.com"},
        "/admin/mail",
    )
    assert "Not invited" in bad.text
    reset = console_post(browser, "/admin/users/barista/send-reset", {}, "/admin/users/barista")
    assert "Password reset message queued." in reset.text
    assert any(
        "Reset your" in str(m["Subject"])
        for m in delivered(live_server, smtp, "barista@coffee.example")
    )
    none = console_post(browser, "/admin/users/other/send-reset", {}, "/admin/users/other")
    assert "has no email address" in none.text
