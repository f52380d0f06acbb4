"""The UserInfo endpoint (OIDC Core §5.3), GET and POST, bearer-protected (RFC 6750).

The access token comes in the Authorization header, or for POST in a form
body (RFC 6750 §2.2), never both (RFC 6750 §2). It must be one of ours,
unrevoked, and carry the `openid` scope; the claims released follow the
token's scope (OIDC Core §5.4). Failures answer per RFC 6750 §3: 401 with
`WWW-Authenticate` (invalid_token, or no error code when no token came),
403 insufficient_scope. Browser apps of a client with registered web
origins may call it cross-origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authgate.accounts.users import user_by_subject
from authgate.http import cors, paths
from authgate.oauth2 import bearer
from authgate.oauth2.access_tokens import AccessTokenInvalid
from authgate.oauth2.errors import (
    NO_STORE,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    OAuthError,
)
from authgate.oidc.claims import OPENID, user_claims

if TYPE_CHECKING:
    from authgate.services import Services

MAX_BODY = 16 * 1024
CORS_METHODS = "GET, POST, OPTIONS"
EXPOSE = {"Access-Control-Expose-Headers": "WWW-Authenticate"}


class NoToken(OAuthError):
    """RFC 6750 §3.1: a request without authentication gets a challenge and no error code."""

    error = "invalid_request"
    status_code = 401

    def __init__(self) -> None:
        super().__init__(None, headers={"WWW-Authenticate": 'Bearer realm="authgate"'})

    def response(self) -> JSONResponse:
        return JSONResponse({}, status_code=401, headers={**NO_STORE, **self.headers})


async def userinfo(request: Request) -> Response:
    services: Services = request.app.state.services
    if request.method == "OPTIONS":
        return cors.preflight(request, services.oauth2.clients.is_registered_origin, methods=CORS_METHODS)
    origin = cors.request_origin(request)
    allowed: tuple[str, ...] = ()
    try:
        token = await bearer_token(request)
        claims = await run_in_threadpool(_verify, services, token)
        client = await run_in_threadpool(services.oauth2.clients.get, str(claims.get("client_id")))
        allowed = client.web_origins if client is not None else ()
        body = await run_in_threadpool(_release, services, claims)
        response: Response = JSONResponse(body, headers=NO_STORE)
    except OAuthError as error:
        response = error.response()
    response.headers.update({**cors.response_headers(origin, allowed), **EXPOSE})
    return response


async def bearer_token(request: Request) -> str:
    """The access token from the Authorization header (RFC 6750 §2.1) or a POSTed form (§2.2), never both."""
    from_header = bearer.credentials(request.headers.get("authorization"))
    from_body = None
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if request.method == "POST" and content_type == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) > MAX_BODY:
            raise InvalidRequest("The request body is too large.")
        fields = [value for name, value in parse_qsl(body.decode("utf-8", "replace")) if name == "access_token"]
        if len(fields) > 1:
            raise InvalidRequest("access_token is repeated.")
        from_body = fields[0] if fields else None
    if from_header and from_body:
        raise InvalidRequest("Send the access token one way only.")  # RFC 6750 §2
    token = from_header or from_body
    if not token:
        raise NoToken()
    return token


def _verify(services: Services, token: str) -> dict[str, Any]:
    try:
        return services.access_tokens.verify(token)
    except AccessTokenInvalid as error:
        raise InvalidToken(debug=str(error)) from None


def _release(services: Services, claims: dict[str, Any]) -> dict[str, Any]:
    granted = str(claims.get("scope", "")).split()
    if OPENID not in granted:
        raise InsufficientScope(OPENID)  # OIDC Core §5.3: the token must carry openid
    with services.database.reader() as session:
        user = user_by_subject(session, str(claims.get("sub")))
        if user is None or user.disabled:
            raise InvalidToken(debug="the token's user no longer exists or is disabled")
        return user_claims(user, granted)


routes = [Route(paths.USERINFO, userinfo, methods=["GET", "POST", "OPTIONS"])]
