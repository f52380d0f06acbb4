"""`authgate user invite`, `send-reset`, `send-verification`, `invitations`, `revoke-invitation` and `authgate mail …`
as users run them (Typer's runner, real databases, a real SMTP server)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smtp_mailbox import SmtpServer, link_in
from testkit import TEST_MASTER_KEY, cli_in_process


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def authgate(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Callable[..., Any]:
    run = cli_in_process({
        "AUTHGATE_DATABASE_URL": database_url,
        "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
        "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
        "AUTHGATE_SMTP_URL": smtp.url,
        "AUTHGATE_ISSUER": "http://127.0.0.1:8000",
        "COLUMNS": "200",
    })
    run("init")
    return run


def test_invite_deliver_list_and_revoke(
    backend: str, authgate: Callable[..., Any], smtp: SmtpServer
) -> None:
    authgate("role", "add", "barista")
    invited = json.loads(
        authgate("user", "invite", "ann@example.com", "--role", "barista", "--json").stdout
    )
    assert invited["username"] == "ann@example.com" and invited["roles"] == ["barista"]
    pending = json.loads(authgate("mail", "list", "--status", "pending", "--json").stdout)
    assert [m["target"] for m in pending] == ["ann@example.com"] and "text" not in pending[0]
    assert "1 sent" in authgate("mail", "deliver").stdout
    [message] = smtp.mailbox.to("ann@example.com")
    assert link_in(message, "/invitation").startswith("http://127.0.0.1:8000/invitation?token=")
    shown = json.loads(authgate("mail", "show", pending[0]["message_id"], "--json").stdout)
    assert shown["status"] == "sent"
    listed = json.loads(authgate("user", "invitations", "--json").stdout)
    assert [i["email"] for i in listed] == ["ann@example.com"]
    assert authgate("user", "revoke-invitation", "ann@example.com", "--yes").exit_code == 0
    assert json.loads(authgate("user", "invitations", "--json").stdout) == []
    assert authgate("user", "show", "ann@example.com", check=False).exit_code != 0


def test_send_reset_and_verification(
    backend: str, authgate: Callable[..., Any], smtp: SmtpServer
) -> None:
    authgate("user", "add", "bo", "--email", "bo@example.com")  # queues a verification message
    authgate("user", "send-reset", "bo")
    authgate("user", "send-verification", "bo")
    assert "3 sent" in authgate("mail", "deliver").stdout
    subjects = sorted(str(m["Subject"]) for m in smtp.mailbox.to("bo@example.com"))
    assert subjects == ["Confirm your email address for authgate"] * 2 + [
        "Reset your authgate password"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "invite", "not-an-address"), "valid email address"),
        (("user", "invite", "a@example.com\r\nBcc: b@example.com"), "valid email address"),
        (("user", "send-reset", "nobody"), "does not exist"),
        (("mail", "list", "--status", "lost"), "expected one of"),
        (("mail", "show", "f" * 32), "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    backend: str,
    authgate: Callable[..., Any],
    smtp: SmtpServer,
    args: tuple[str, ...],
    message: str,
) -> None:
    result = authgate(*args, check=False)
    assert (
        result.exit_code != 0
        and message in result.stderr
        and len(result.stderr.strip().splitlines()) <= 2
    )
    assert "0 sent" in authgate("mail", "deliver").stdout and smtp.mailbox.messages == []
