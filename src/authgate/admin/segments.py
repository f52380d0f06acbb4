"""Admin URLs name an object in one path segment, percent-encoded (RFC 3986 §3.3).

API identifiers and permission names may hold `/`, `%`, `?` or `#`. Starlette
routes on the decoded path, where `/apis/https%3A%2F%2Fx%2Fapi/permissions/read`
and `/apis/https://x/api/permissions/read` look alike, so a request could act
on another object than the one it named. Under /admin, routing therefore sees
the raw path with each segment decoded except for `%` and `/` (kept as `%25`
and `%2F`); a path parameter is then exactly one segment, decoded once by
`decoded`. A name with an unencoded `/` spans several segments and matches no
route (404) rather than a different one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send


def routing_path(scope: Scope) -> str:
    """`scope["path"]`, but with a `/` or `%` inside a raw segment still encoded."""
    path: str = scope["path"]
    raw = scope.get("raw_path")
    # Decoded as uvicorn decodes the whole path: UTF-8, undecodable bytes replaced.
    segments = (
        [unquote_to_bytes(part).decode("utf-8", "replace") for part in raw.split(b"/")]
        if isinstance(raw, bytes)
        else []
    )
    decoded = "/".join(segments)
    if not segments or not path.endswith(decoded):
        # No raw path, or a rewritten one: route on the path given, `%` escaped for `decoded`.
        return path.replace("%", "%25")
    prefix = path[: len(path) - len(decoded)]  # a root_path the server put before the raw path
    return prefix + "/".join(
        segment.replace("%", "%25").replace("/", "%2F") for segment in segments
    )


def decoded(value: str) -> str:
    """A path parameter matched on `routing_path`: the name it encodes."""
    return unquote(value)


def decode_all(path_params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: decoded(value) if isinstance(value, str) else value
        for name, value in path_params.items()
    }


class BySegments(BaseRoute):
    """`route`, matched on `routing_path`, which the scope then carries for the routes inside it."""

    def __init__(self, route: BaseRoute) -> None:
        self.route = route

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return self.route.matches(scope)
        path = routing_path(scope)
        match, child = self.route.matches({**scope, "path": path})
        return (match, {**child, "path": path}) if match is not Match.NONE else (match, child)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # what took the request, as a router records it (metrics' route template)
        await self.route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.route.url_path_for(name, **path_params)
