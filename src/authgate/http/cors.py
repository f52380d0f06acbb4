"""CORS for endpoints a browser app calls directly (token, revocation, userinfo).

Nothing wider than needed: an origin is allowed only when a client registered
it in `web_origins`; no wildcard, no credentials (these endpoints use no
cookies), and `Vary: Origin` on every answer so caches keep origins apart.

    # preflight (OPTIONS): the client is not known yet, so allow an origin ANY client registered
    if request.method == "OPTIONS":
        return preflight(request, allowed=lambda origin: directory.is_registered_origin(origin))
    # actual response: echo the origin only if it belongs to the requesting client
    response.headers.update(response_headers(request_origin(request), client.web_origins))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.requests import HTTPConnection
from starlette.responses import Response

ALLOW_METHODS = "POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"


def request_origin(request: HTTPConnection) -> str | None:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return None
    return origin


def response_headers(origin: str | None, allowed_origins: Iterable[str]) -> dict[str, str]:
    """Headers for an actual (non-preflight) response; the origin is echoed only if allowed."""
    headers = {"Vary": "Origin"}
    if origin is not None and origin in set(allowed_origins):
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def preflight(
    request: HTTPConnection,
    allowed: Callable[[str], bool],
    *,
    methods: str = ALLOW_METHODS,
    headers: str = ALLOW_HEADERS,
) -> Response:
    """Answer an OPTIONS preflight: 204, with the CORS grant only for an allowed origin."""
    origin = request_origin(request)
    answer = {"Vary": "Origin", "Cache-Control": "no-store"}
    if origin is not None and allowed(origin):
        answer.update({
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": headers,
            "Access-Control-Max-Age": MAX_AGE,
        })
    return Response(status_code=204, headers=answer)
