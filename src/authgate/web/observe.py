"""The edge every HTTP request passes first: its id, its log context, its metrics, its access line.

`X-Request-ID` (RFC 6648: no registered name; the de-facto header of proxies and load
balancers) is kept from a trusted proxy when it is sane — 1 to 128 characters of
`[A-Za-z0-9._:@/+=-]` — and generated otherwise; it is returned on every response and set in
the log context for every line logged while the request runs (logs.py).

The route is the template the router matched (`/admin/api/users/{user_id}`), never the raw
path, so the metrics' label sets stay bounded; a request no route took is "<unmatched>".
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.http.client_ip import is_trusted_peer
from authgate.logs import request_context
from authgate.metrics import Metrics

if TYPE_CHECKING:
    from authgate.services import Services
    from authgate.tracing import Tracing

access_logger = logging.getLogger("authgate.access")

REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
UNMATCHED = "<unmatched>"
HOT_PATH = "authgate.hot_path"  # the scope's record of a hot path taking the request (no route does)


def edge(app: ASGIApp, services: Services, tracing: Tracing | None = None) -> ASGIApp:
    """`app` as the server runs it: traced when tracing is configured, inside `Observe`."""
    traced = tracing.instrument(app, services.database) if tracing is not None else app
    return Observe(traced, services.metrics, trusted_proxies=tuple(services.settings.trusted_proxies),
                   access_log=services.settings.access_log)


class Observe:
    """ASGI middleware around the whole app (hot paths included; see App.__call__)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, *, trusted_proxies: tuple[str, ...] = (),
                 access_log: bool = False, timer: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self.metrics = metrics
        self.trusted_proxies = trusted_proxies
        self.access_log = access_log
        self.timer = timer
        # A generated id is unique, not secret: a random prefix for this process, then a counter
        # (a tenth of the CPU of drawing 16 random bytes per request).
        self._id_prefix = secrets.token_hex(8)
        self._ids = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.timer()
        request_id = self.request_id(scope)
        context: dict[str, Any] = {"request_id": request_id, "method": scope["method"]}
        token = request_context.set(context)
        status = 500  # what the server answers when the app fails before it starts a response
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope)
            elapsed = self.timer() - started
            self.metrics.request(route, scope["method"], status, elapsed)
            if self.access_log:
                access_logger.info("%s %s %d", scope["method"], route, status, extra={
                    "route": route, "status": status, "latency_ms": round(elapsed * 1000, 3)})
            request_context.reset(token)

    def request_id(self, scope: Scope) -> str:
        """The proxy's id if the peer is a proxy we trust and the id is sane, else a new one."""
        if self.trusted_proxies:
            client = scope.get("client")
            if client and is_trusted_peer(client[0], self.trusted_proxies):
                for name, value in scope["headers"]:
                    if name == REQUEST_ID_HEADER and SANE_REQUEST_ID.fullmatch(value):
                        return bytes(value).decode("ascii")
        return f"{self._id_prefix}{next(self._ids):016x}"


def route_template(scope: Scope) -> str:
    """The template of the route that took the request: its mount's prefix, then its own path."""
    route: BaseRoute | None = scope.get("route")
    if route is None:
        endpoint_path = scope.get(HOT_PATH)
        return endpoint_path if isinstance(endpoint_path, str) else UNMATCHED
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    root_path: str = scope.get("root_path", "")
    prefix = root_path[len(scope.get("app_root_path", "")):]
    if getattr(route, "routes", None) is not None:  # a Mount that answered itself: the prefix is its own
        return f"{prefix}/{{path}}"
    return f"{prefix}{path}"
