"""The admin API's one error shape, and the one place where errors become statuses.

Every error is `{"error": code, "error_description": message}`, plus `field`
when one input is at fault. The codes are the domain errors' `.code` — the
same the CLI prints — so a script sees the same `already_exists` either way.
Anything unexpected becomes `server_error` without a traceback to the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from authgate.errors import AlreadyExists, Conflict, DomainError, InvalidInput, NotFound
from authgate.guard.errors import GuardError, log_refusal
from authgate.http.aborted import is_aborted, on_aborted
from authgate.oauth2.errors import NO_STORE, TemporarilyUnavailable
from authgate.storage.database import DatabaseUnavailable

logger = logging.getLogger("authgate.admin")
REALM = "authgate-admin"

# Domain error → HTTP status; a subclass takes its nearest ancestor's status.
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    InvalidInput: 422,  # includes WeakPassword
    DomainError: 400,
}
INVALID_REQUEST = "invalid_request"  # the request could not be read at all (malformed JSON)
INVALID_INPUT = InvalidInput.code  # it was read, but a value is not acceptable


class ErrorBody(BaseModel):
    """What every admin API error looks like."""

    error: str = Field(description="Stable machine-readable code, shared with the CLI.", examples=["not_found"])
    error_description: str = Field(description="Human-readable explanation; never contains a secret.")
    field: str | None = Field(None, description="The input at fault, when one is.")


def error_response(status: int, code: str, description: str, *, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=code, error_description=description, field=field)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers={**NO_STORE, **(headers or {})})


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


# --- the handlers, installed on the admin app -----------------------------------------
async def on_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return error_response(status_of(error), error.code, error.message, field=getattr(error, "field", None))


async def on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, INVALID_REQUEST, "The request body is not valid JSON.")
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    field = _field_of(first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    description = f"{field}: {message}" if field else message
    if len(problems) > 1:
        description += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return error_response(422, INVALID_INPUT, description, field=field)


def _field_of(location: Any) -> str | None:
    """The top-level input at fault: ('body', 'roles', 0) → 'roles'; ('query', 'limit') → 'limit'."""
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return parts[0] if parts else None


async def on_http_error(request: Request, error: Exception) -> Response:
    """Routing's own errors: unknown path, and a method the path does not take."""
    assert isinstance(error, HTTPException)
    if is_aborted(error):  # FastAPI's 400 for a body it could not read: the client went away
        return await on_aborted(request, error)
    if error.status_code == 405:
        allowed = _allowed_methods(request)
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here.",
                              headers={"Allow": ", ".join(allowed)})
    if error.status_code == 404:
        hint = "A name in a path is one segment, percent-encoded: /apis/https%3A%2F%2Fx.example%2Fapi."
        return error_response(404, NotFound.code, f"There is nothing at this path. {hint}")
    return error_response(error.status_code, INVALID_REQUEST, str(error.detail), headers=dict(error.headers or {}))


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route at this path takes (RFC 9110 §15.5.6), not only the first route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def on_guard_error(request: Request, error: Exception) -> Response:
    """401/403 from the bearer check, with the RFC 6750 §3 challenge."""
    assert isinstance(error, GuardError)
    log_refusal(error)
    # RFC 6750 §3.1: no error code in the challenge without credentials; the body still has one.
    return error_response(error.status_code, error.error or "unauthorized", error.description,
                          headers=error.headers(REALM))


async def on_unavailable(request: Request, error: Exception) -> Response:
    logger.warning("database unavailable during %s %s: %s", request.method, request.url.path, error)
    return TemporarilyUnavailable().response()


async def on_integrity_error(request: Request, error: Exception) -> Response:
    """Two requests raced to create the same thing; the loser gets what a sequential one would."""
    logger.info("integrity error during %s %s: %s", request.method, request.url.path, type(error).__name__)
    return error_response(409, Conflict.code, "The change conflicts with a concurrent change; retry.")


async def on_unexpected(request: Request, error: Exception) -> Response:
    logger.error("unexpected error during %s %s", request.method, request.url.path, exc_info=error)
    return error_response(500, "server_error", "An unexpected error occurred.")


HANDLERS: dict[type[Exception], Any] = {
    DomainError: on_domain_error,
    RequestValidationError: on_validation_error,
    HTTPException: on_http_error,
    GuardError: on_guard_error,
    DatabaseUnavailable: on_unavailable,
    IntegrityError: on_integrity_error,
    ClientDisconnect: on_aborted,
    Exception: on_unexpected,
}


# --- how the errors are declared in the OpenAPI document ---------------------------------
def _declared(description: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    declared: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        declared["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return declared


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _declared("The body is not valid JSON, or the Authorization header is malformed (`invalid_request`)."),
    401: _declared(
        "No bearer token, or one that is invalid, expired or revoked (RFC 6750 §3.1).",
        {"WWW-Authenticate": "The RFC 6750 challenge."},
    ),
    403: _declared(
        "The token lacks the permission this operation needs (`insufficient_scope`).",
        {"WWW-Authenticate": "The RFC 6750 challenge naming the permission."},
    ),
    422: _declared("A value is not acceptable (`invalid_input`, `weak_password`); `field` names it."),
    503: _declared(
        "The database is unavailable (`temporarily_unavailable`); retry.", {"Retry-After": "Seconds to wait."}
    ),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _declared("It does not exist (`not_found`).")}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _declared("It already exists or contradicts existing state (`already_exists`, `conflict`).")
}
