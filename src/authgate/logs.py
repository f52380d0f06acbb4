"""Log lines: text or one JSON object per line, each carrying its request's context, none a secret.

`AUTHGATE_LOG_FORMAT=json|text` picks the formatter (`config()` builds the logging configuration
`serve` hands uvicorn, so every worker uses it). The context of the request being answered (its
id, route, method; the client and user once known) lives in a context variable set by
web/observe.py and read by `RequestContextFilter` into every record logged while it runs,
worker threads included (Starlette's threadpool copies the context).

Secrets never reach a line: `Redactor` replaces the value of any secret-named field and of
secret-named query parameters, `Authorization`/`Cookie` header values, bearer credentials and
JWT-shaped strings in the message, before any formatter sees the record.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
REDACTED = "[redacted]"

# Field and parameter names whose values are secrets (compared lower-case, "-" as "_").
SECRET_KEYS = frozenset({
    "access_token", "refresh_token", "id_token", "token", "code", "code_verifier", "client_secret",
    "password", "new_password", "current_password", "secret", "authorization", "cookie", "set_cookie",
    "client_assertion", "assertion", "otp", "totp", "csrf", "csrf_token", "registration_access_token",
    "initial_access_token", "state", "nonce", "session", "api_key", "master_key",
})

_QUERY_SECRET = re.compile(
    r"(?i)([?&;]|\b)(" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=([^&;\s\"']+)")
_HEADER_SECRET = re.compile(r"(?i)\b(authorization|cookie|set-cookie)(\s*[:=]\s*)([^\r\n,;]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# The record attributes logging itself sets; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}

request_context: ContextVar[dict[str, Any] | None] = ContextVar("authgate_request_context", default=None)


def annotate(**fields: Any) -> None:
    """Add what became known during a request (client_id, user) to its context and its later lines."""
    context = request_context.get()
    if context is not None:
        context.update({key: value for key, value in fields.items() if value is not None})


def scrub(text: str) -> str:
    """`text` with every secret-shaped value replaced."""
    text = _QUERY_SECRET.sub(lambda match: f"{match[1]}{match[2]}={REDACTED}", text)
    text = _HEADER_SECRET.sub(lambda match: f"{match[1]}{match[2]}{REDACTED}", text)
    text = _BEARER.sub(lambda match: f"{match[1]} {REDACTED}", text)
    return _JWT.sub(REDACTED, text)


def is_secret_key(key: str) -> bool:
    return key.lower().replace("-", "_") in SECRET_KEYS


class Redactor(logging.Filter):
    """Scrubs each record in place: its message (arguments merged in) and its extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_authgate_scrubbed", False):
            record.msg = scrub(record.getMessage())
            record.args = None
            for key, value in list(vars(record).items()):
                if key in _STANDARD:
                    continue
                if is_secret_key(key):
                    setattr(record, key, REDACTED)
                elif isinstance(value, str):
                    setattr(record, key, scrub(value))
            record._authgate_scrubbed = True
        return True


class RequestContextFilter(logging.Filter):
    """Copies the current request's context onto the record (fields the record sets itself win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then the context and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = REDACTED if is_secret_key(key) else value
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = scrub(super().format(record))  # the message is scrubbed already; an exception's trace is not
        request_id = getattr(record, "request_id", None)
        return f"{line} [request_id={request_id}]" if request_id else line


def config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """The `logging.config.dictConfig` for the server: uvicorn's loggers and authgate's, one handler,
    the redactor and the request context on it (so on every line, whoever logged it)."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if log_format == "json"
        else {"()": TextFormatter, "format": "%(levelname)s %(name)s: %(message)s"})
    handler = {"class": "logging.StreamHandler", "formatter": "authgate", "stream": "ext://sys.stderr",
               "filters": ["context", "redact"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": RequestContextFilter}, "redact": {"()": Redactor}},
        "formatters": {"authgate": formatter},
        "handlers": {"authgate": handler},
        "loggers": {
            "authgate": {"handlers": ["authgate"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["authgate"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
