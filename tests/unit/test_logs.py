"""logs.py: secrets never reach a line; JSON lines carry the request's context."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from authgate import logs


@pytest.mark.parametrize(("description", "line", "secret"), [
    ("a code in a query string", "GET /callback?state=abc&code=SplxlOBeZQQYbYS6WxSbIA", "SplxlOBeZQQYbYS6WxSbIA"),
    ("a refresh token in a form", "refresh_token=8xLOxBtZp8&client_id=app", "8xLOxBtZp8"),
    ("a client secret", "client_secret=s3cr3t-value;", "s3cr3t-value"),
    ("a password field", "username=ada&password=hunter2hunter2", "hunter2hunter2"),
    ("an Authorization header", "Authorization: Basic YWRhOmh1bnRlcjI=", "YWRhOmh1bnRlcjI="),
    ("a bearer token in text", "sent Bearer abc.def-ghi to the API", "abc.def-ghi"),
    ("a cookie header", "Cookie: authgate_session=q1w2e3r4t5", "q1w2e3r4t5"),
    ("a bare JWT", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl was bad", "eyJzdWIiOiJhZGEifQ"),
])
def test_scrub_removes_every_kind_of_secret(description, line, secret):
    scrubbed = logs.scrub(line)
    assert secret not in scrubbed, description
    assert logs.REDACTED in scrubbed


def test_scrub_leaves_ordinary_text_alone():
    line = "GET /oauth/token 400 invalid_grant (error_code=7, client_id=app)"
    assert logs.scrub(line) == line


def capture(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    config = logs.config("INFO", log_format)  # type: ignore[arg-type]
    stream = io.StringIO()
    config["handlers"]["authgate"]["stream"] = stream
    logging.config.dictConfig(config)
    return logging.getLogger("authgate.test"), stream


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    logging.getLogger("authgate").handlers.clear()
    logging.getLogger("authgate").propagate = True
    logging.getLogger("uvicorn").handlers.clear()


def test_json_lines_carry_the_context_and_redact_secret_fields():
    logger, stream = capture("json")
    token = logs.request_context.set({"request_id": "rid-1", "method": "POST"})
    try:
        logs.annotate(client_id="coffee-app", sub=None)
        logger.info(
            "exchanged code=%s for tokens", "the-code-value", extra={"password": "pw-value", "route": "/oauth/token"}
        )
    finally:
        logs.request_context.reset(token)
    logger.warning("outside a request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "rid-1" and first["method"] == "POST" and first["client_id"] == "coffee-app"
    assert "sub" not in first, "unknown values are left out"
    assert first["route"] == "/oauth/token" and first["password"] == logs.REDACTED
    assert "the-code-value" not in stream.getvalue() and "pw-value" not in stream.getvalue()
    assert {"timestamp", "level", "logger", "message"} <= first.keys()
    assert "request_id" not in second


def test_text_lines_name_the_request_and_redact_too():
    logger, stream = capture("text")
    token = logs.request_context.set({"request_id": "rid-2"})
    try:
        logger.info("Authorization: Bearer abcdef")
    finally:
        logs.request_context.reset(token)
    assert stream.getvalue().strip() == f"INFO authgate.test: Authorization: {logs.REDACTED} [request_id=rid-2]"


def test_an_exception_trace_is_scrubbed():
    logger, stream = capture("json")
    try:
        raise ValueError("bad refresh_token=leaky-value")
    except ValueError:
        logger.exception("failed")
    line = json.loads(stream.getvalue())
    assert "leaky-value" not in stream.getvalue() and "ValueError" in line["exception"]
