"""Protect an MCP server (the official ``mcp`` SDK) with the guard.

The MCP authorization spec is plain OAuth: the MCP server is a protected
resource (RFC 9728) naming its authorization server; the client discovers
it, registers itself (RFC 7591) and asks for a token for the server's URL
(RFC 8707 ``resource``). This module plugs a ``Guard`` into the SDK's server
auth and adds what the SDK lacks, a permission per tool::

    guard = Guard(issuer=ISSUER, audience=URL, resource=URL, scopes_supported=["read:books", "write:books"])
    mcp_guard = McpGuard(guard, required=["read:books"])
    server = MCPServer("Books", token_verifier=mcp_guard, auth=mcp_guard.auth_settings())

    @server.tool()
    @mcp_guard.requires("write:books")
    def add_book(title: str) -> str: ...

    app = mcp_guard.protect(server.streamable_http_app())

``protect`` answers the resource metadata, refuses a request without a
valid token (401, ``scope`` = the ``required`` permissions, so a client asks
for those first) and refuses a ``tools/call`` whose tool needs a permission
the token lacks with 403 ``insufficient_scope`` naming it, before the tool
runs; the SDK's client then steps up (asks for that permission too).

Needs the ``mcp`` extra (``pip install authgate[mcp]``); nothing else of
authgate's server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings

from authgate.guard.asgi import (
    ASGIApp,
    GuardMiddleware,
    Message,
    Receive,
    Scope,
    Send,
    _authorization,  # the guard package's own helper
)
from authgate.guard.claims import Claims
from authgate.guard.errors import GuardError, InvalidRequest
from authgate.guard.guard import Guard
from authgate.guard.permissions import PermissionSpec, Requirement

F = TypeVar("F", bound=Callable[..., Any])
#: A JSON-RPC body larger than this is not read for tool names (the SDK's own limit is 4 MiB).
MAX_BODY_BYTES = 4 * 1024 * 1024


class McpGuard:
    """A ``Guard`` as the SDK's ``TokenVerifier``, with a permission per tool."""

    def __init__(self, guard: Guard, *, required: Iterable[str] = ()) -> None:
        if guard.config.resource is None:
            raise ValueError("the guard's config must name its resource (the MCP server's URL)")
        self.guard = guard
        self.resource: str = guard.config.resource
        #: Needed for every request; named in the 401 challenge's ``scope``.
        self.required = Requirement.of(*required)
        #: Tool name → what calling it needs.
        self.tool_requirements: dict[str, Requirement] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's ``TokenVerifier`` protocol: the verified token, or None."""
        try:
            claims = await self.guard.verify_async(token)
        except GuardError:
            return None
        return access_token(token, claims, self.resource)

    def auth_settings(self, **settings: Any) -> AuthSettings:
        """The SDK's auth settings for this resource; the guard checks ``aud`` itself."""
        values: dict[str, Any] = {
            "issuer_url": self.guard.config.issuer,
            "resource_server_url": self.resource,
            "required_scopes": sorted(self.required.all_of),
            "validate_token_resource": False,
        }
        values.update(settings)
        return AuthSettings(**values)

    def requires(self, *permissions: PermissionSpec, tool: str | None = None,
                 any_of: Iterable[str] | None = None, acr: str | None = None,
                 amr: Iterable[str] | None = None, max_age: int | None = None) -> Callable[[F], F]:
        """Mark a tool function as needing ``permissions`` (its name is the tool's, unless ``tool``).

        ``acr``/``amr``/``max_age`` ask for a sign-in strength as ``Guard.requirement`` does.
        """
        requirement = self.guard.requirement(*permissions, any_of=any_of, acr=acr, amr=amr, max_age=max_age)

        def mark(function: F) -> F:
            self.tool_requirements[tool or function.__name__] = requirement
            return function

        return mark

    def protect(self, app: ASGIApp) -> ASGIApp:
        """Wrap the SDK's ASGI app: resource metadata, 401 challenges, per-tool permissions."""
        return McpGuardMiddleware(app, self)


def access_token(token: str, claims: Claims, resource: str) -> AccessToken:
    return AccessToken(
        token=token, client_id=claims.client_id or "", scopes=sorted(claims.granted),
        expires_at=int(claims.expires_at) if claims.expires_at != float("inf") else None,
        resource=resource, subject=claims.sub, claims=claims.to_dict(),
    )


class McpGuardMiddleware(GuardMiddleware):
    def __init__(self, app: ASGIApp, mcp_guard: McpGuard) -> None:
        super().__init__(app, mcp_guard.guard, required=True)
        self.mcp_guard = mcp_guard
        self.mcp_path = urlsplit(mcp_guard.resource).path or "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] == "http" and path in self.metadata_paths:
            await self.send_metadata(send)
            return
        if scope["type"] != "http" or path != self.mcp_path:
            await self.app(scope, receive, send)
            return
        try:
            claims = await self.guard.authorize_async(_authorization(scope), self.mcp_guard.required)
        except GuardError as err:
            # Tell the client which permissions to ask for first (RFC 6750 §3 scope).
            err.scope = err.scope or " ".join(sorted(self.mcp_guard.required.all_of)) or None
            await self.refuse(err, scope, send)
            return
        if scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        try:
            if more:
                raise InvalidRequest("The request body is too large.")
            self.check_tools(body, claims)
        except GuardError as err:
            await self.refuse(err, scope, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    def check_tools(self, body: bytes, claims: Claims) -> None:
        """Refuse a tools/call whose tool needs what the token lacks.

        403 ``insufficient_scope`` for a permission, 401
        ``insufficient_user_authentication`` for a sign-in too weak (RFC 9470).
        """
        for name in _called_tools(body):
            requirement = self.mcp_guard.tool_requirements.get(name)
            if requirement is not None:
                try:
                    requirement.check(claims, self.guard.config.acr_values, self.guard.config.clock)
                except GuardError as err:
                    err.resource_metadata = self.guard.config.resource_metadata_url
                    raise


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, unless it passes MAX_BODY_BYTES (then what was read, and True)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return body, True
        if not message.get("more_body", False):
            return body, False


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _called_tools(body: bytes) -> list[str]:
    """Names of the tools a JSON-RPC message (or batch) calls; the SDK answers malformed ones itself."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []
    messages = document if isinstance(document, list) else [document]
    names = []
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                names.append(name)
    return names
