"""Plain ASGI middleware: authenticate once, hand the claims down the stack.

``GuardMiddleware(app, guard=guard)`` verifies the bearer token of every
HTTP and WebSocket request that has one and puts the claims in
``scope["auth"]`` and ``scope["state"]["auth"]`` (``request.state.auth`` in
Starlette). It answers the API's protected resource metadata (RFC 9728)
when the guard's config names a ``resource``. Requests without a token pass with ``None`` unless
``required=True``. A ``GuardError`` raised further down (for instance by
``@guard.requires_auth`` on a Starlette endpoint) is answered here as well,
so add it with ``app.add_middleware(GuardMiddleware, guard=guard)``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from authgate.guard.errors import GuardError
from authgate.guard.resource_metadata import metadata_paths

if TYPE_CHECKING:
    from authgate.guard.guard import Guard

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WEBSOCKET_POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1


def _authorization(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return None


class GuardMiddleware:
    """Verify bearer tokens for an ASGI application."""

    def __init__(self, app: ASGIApp, guard: Guard, *, required: bool = False) -> None:
        self.app = app
        self.guard = guard
        self.required = required
        resource = guard.config.resource
        #: Where RFC 9728 metadata is answered (none when the guard names no resource).
        self.metadata_paths = metadata_paths(resource) if resource is not None else frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope.get("path") in self.metadata_paths:
            await self.send_metadata(send)
            return
        authorization = _authorization(scope)
        try:
            claims = None
            if authorization is not None or self.required:
                claims = await self.guard.authorize_async(authorization)
        except GuardError as err:
            await self.refuse(err, scope, send)
            return
        scope = dict(scope)
        scope["auth"] = claims
        scope["state"] = {**scope.get("state", {}), "auth": claims}
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.accept")
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except GuardError as err:
            if started:
                raise
            await self.refuse(err, scope, send)

    async def send_metadata(self, send: Send) -> None:
        """The protected resource metadata (RFC 9728 §3.2), public and cacheable."""
        body = json.dumps(self.guard.resource_metadata()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, max-age=300"),
            (b"access-control-allow-origin", b"*"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def refuse(self, err: GuardError, scope: Scope, send: Send) -> None:
        """Send the RFC 6750 §3 response (or close a WebSocket with 1008)."""
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION})
            return
        # Errors raised by the app below did not pass through the guard: name the metadata here.
        err.resource_metadata = err.resource_metadata or self.guard.config.resource_metadata_url
        body = json.dumps(err.to_dict()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in err.headers(self.guard.realm).items()
        ]
        await send({"type": "http.response.start", "status": err.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
