"""A client that goes away mid-body costs one info line, no traceback (web/aborted.py), wherever it was going:
the directly dispatched token and introspection endpoints, a router endpoint, a page's form, the admin API.

Each request declares a 1000-byte body, sends 10 bytes and closes its connection (or resets it).
`authgate serve --workers 2` runs as users run it, its stderr the log read here; the admin API reads
a body only once the caller is authenticated, so it is tried on a live server with an admin's token.
"""

from __future__ import annotations

import logging
import signal
import socket
import struct
import time
from pathlib import Path

import httpx
import pytest
from test_admin_support import admin_world  # noqa: F401 (a fixture)
from test_graceful_stop import serving

ABORTED = "client went away before the request was read"

TARGETS = [
    ("/oauth/token", "application/x-www-form-urlencoded"),  # dispatched ahead of the router
    ("/oauth/introspect", "application/x-www-form-urlencoded"),  # dispatched ahead of the router
    ("/oauth/revoke", "application/x-www-form-urlencoded"),  # through the router
    ("/login", "application/x-www-form-urlencoded"),  # a page's form
]


def abort(url: str, path: str, content_type: str, *, reset: bool, headers: str = "") -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n{headers}"
                     "Content-Length: 1000\r\n\r\n".encode() + b"grant_type")
        if reset:  # SO_LINGER 0: close sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def lines_about(log: Path, path: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if f"POST {path}:" in line]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no storage involved: one database is enough
def test_an_aborted_request_is_one_info_line_without_a_traceback(database_url, tmp_path):
    with serving(database_url, tmp_path, "--workers", "2") as (process, url, log):
        for path, content_type in TARGETS:
            for reset in (False, True):
                before = len(lines_about(log, path))
                abort(url, path, content_type, reset=reset)
                deadline = time.monotonic() + 15
                while len(lines_about(log, path)) == before:
                    assert time.monotonic() < deadline, f"nothing logged for {path}:\n{log.read_text()}"
                    time.sleep(0.05)
        assert httpx.get(url + "/healthz").status_code == 200, "the workers still answer"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    output = log.read_text()
    for path, _ in TARGETS:
        lines = lines_about(log, path)
        assert len(lines) == 2 and all(line.startswith("INFO authgate.web: ") and ABORTED in line for line in lines), (
            path, lines)
    assert "Traceback" not in output and "unexpected error" not in output and "ERROR" not in output, output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_aborted_admin_api_request_is_one_info_line(admin_world, caplog):
    uvicorn_errors = logging.getLogger("uvicorn.error")  # where uvicorn logs "Exception in ASGI application"
    uvicorn_errors.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            for reset in (False, True):
                abort(admin_world.url, "/admin/api/users", "application/json", reset=reset,
                      headers=f"Authorization: Bearer {admin_world.root_token}\r\n")
                deadline = time.monotonic() + 15
                while sum(ABORTED in record.getMessage() for record in caplog.records) < 1 + reset:
                    assert time.monotonic() < deadline, [record.getMessage() for record in caplog.records]
                    time.sleep(0.05)
            assert httpx.get(admin_world.url + "/healthz").status_code == 200
    finally:
        uvicorn_errors.removeHandler(caplog.handler)
    aborted = [record for record in caplog.records if ABORTED in record.getMessage()]
    assert [(record.name, record.levelname) for record in aborted] == [("authgate.web", "INFO")] * 2
    assert "POST /admin/api/users:" in aborted[0].getMessage()
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING or record.exc_info]
