"""The admin API's last resort (admin/errors.py `on_unexpected`): the caller gets a bare 500 `server_error`
without a trace, and the log gets the error with its traceback."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from starlette.requests import Request

from authgate.admin.errors import on_unexpected
from testkit import in_own_thread


def failing() -> None:
    raise KeyError("internal detail")


def test_an_unexpected_error_is_a_bare_500_and_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    request = Request({
        "type": "http", "method": "GET", "scheme": "http", "server": ("testserver", 80),
        "path": "/admin/api/users", "query_string": b"", "headers": [],
    })
    try:
        failing()
    except KeyError as raised:
        error = raised
    with caplog.at_level(logging.ERROR, logger="authgate.admin"):
        response = in_own_thread(lambda: asyncio.run(on_unexpected(request, error)))
    assert response.status_code == 500
    assert json.loads(bytes(response.body))["error"] == "server_error"
    assert b"internal detail" not in bytes(response.body)
    [record] = [record for record in caplog.records if record.name == "authgate.admin"]
    assert "GET /admin/api/users" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[1] is error
    assert "in failing" in logging.Formatter().formatException(record.exc_info)
