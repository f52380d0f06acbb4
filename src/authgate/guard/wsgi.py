"""Plain WSGI middleware, the synchronous twin of ``authgate.guard.asgi``.

Claims land in ``environ["authgate.claims"]`` (None without a token unless
``required=True``); a ``GuardError`` raised by the application below is
answered with the RFC 6750 response while nothing has been sent yet.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from authgate.guard.errors import GuardError

if TYPE_CHECKING:
    from authgate.guard.guard import Guard

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ENVIRON_KEY = "authgate.claims"

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}


class GuardWSGIMiddleware:
    """Verify bearer tokens for a WSGI application."""

    def __init__(self, app: WSGIApp, guard: Guard, *, required: bool = False) -> None:
        self.app = app
        self.guard = guard
        self.required = required

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        authorization = environ.get("HTTP_AUTHORIZATION")
        try:
            claims = None
            if authorization is not None or self.required:
                claims = self.guard.authorize(authorization)
        except GuardError as err:
            return self.refuse(err, start_response)
        environ[ENVIRON_KEY] = claims
        started = False

        def tracking_start_response(*args: Any) -> Any:
            nonlocal started
            started = True
            return start_response(*args)

        try:
            return self.app(environ, tracking_start_response)
        except GuardError as err:
            # PEP 3333: a second start_response must carry exc_info, and
            # re-raises if the headers already went out.
            return self.refuse(err, start_response, exc_info=sys.exc_info() if started else None)

    def refuse(
        self, err: GuardError, start_response: StartResponse, exc_info: Any = None
    ) -> list[bytes]:
        """Start the RFC 6750 §3 response and return its body."""
        # Errors raised by the app below did not pass through the guard: name the metadata here.
        err.resource_metadata = err.resource_metadata or self.guard.config.resource_metadata_url
        body = json.dumps(err.to_dict()).encode()
        status = f"{err.status_code} {_REASONS.get(err.status_code, 'Error')}"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += list(err.headers(self.guard.realm).items())
        if exc_info is None:
            start_response(status, headers)
        else:
            start_response(status, headers, exc_info)
        return [body]
