"""A request its client gave up on: one info line, no answer, no traceback.

A client that disconnects before its body has arrived (a closed or reset connection, a
timeout on its side) leaves nobody to answer, and nothing went wrong here. Logged as an
unexpected error it would cost a traceback per request, and any client could flood the log
with them. Starlette reports it as `ClientDisconnect` when the body is read; FastAPI (the
admin API) wraps that in a 400 `HTTPException`. Every edge that turns failures into
answers asks `is_aborted` first: the protocol endpoints (oauth2/token_endpoint.py
`error_response`), the server's exception handlers and its direct dispatch (web/app.py),
and the admin API's (admin/errors.py).
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

logger = logging.getLogger("authgate.web")


def is_aborted(error: BaseException) -> bool:
    """The client went away while its request was read (directly, or as the cause of `error`)."""
    cause: BaseException | None = error
    for _ in range(3):  # ClientDisconnect itself, or a wrapper raised "from" it
        if cause is None:
            return False
        if isinstance(cause, ClientDisconnect):
            return True
        cause = cause.__cause__
    return False


def log_aborted(method: str, path: str) -> None:
    logger.info("%s %s: client went away before the request was read; not answered", method, path)


async def on_aborted(request: Request, error: Exception) -> Response:
    """The exception handler: the line, and an answer that no one will receive (uvicorn drops it)."""
    log_aborted(request.method, request.url.path)
    return Response(status_code=400)
