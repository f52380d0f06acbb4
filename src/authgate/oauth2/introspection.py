"""Token introspection, ``POST /oauth/introspect`` (RFC 7662).

Only confidential clients, authenticated (RFC 7662 §2.1: the endpoint MUST
require authorization). An active access token answers ``active: true`` with
``scope client_id username token_type exp iat nbf sub aud iss jti
permissions``; a refresh token is active only to the client that holds it.
Anything else — revoked, expired, rotated out, malformed, another issuer's —
is ``{"active": false}`` and nothing more (RFC 7662 §2.2).

Kept fast: client records come from the directory cache, the JWT is checked
in memory, the revoked-jti check is one primary-key lookup, and usernames are
cached by user id for a minute (usernames never change; a deleted user's
tokens stay valid until they expire, as with any JWT).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authgate.clock import aware
from authgate.oauth2.access_tokens import AccessTokenInvalid
from authgate.oauth2.client_auth import AuthenticatedClient, authenticate_client
from authgate.oauth2.errors import NO_STORE, InvalidClient
from authgate.oauth2.form import Form, read_form
from authgate.oauth2.token_endpoint import error_response
from authgate.services import Services
from authgate.storage.models import User

INACTIVE: dict[str, Any] = {"active": False}
USERNAME_CACHE_SECONDS = 60.0
_usernames: dict[tuple[int, int], tuple[float, str | None]] = {}


async def introspect(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        form = await read_form(request)
        answer = await run_in_threadpool(_introspect, services, form, request.headers.get("authorization"))
    except Exception as error:  # noqa: BLE001 - rendered as the protocol error it is
        return error_response(error, request, {})
    return JSONResponse(answer, headers=NO_STORE)


def _introspect(services: Services, form: Form, authorization: str | None) -> dict[str, Any]:
    client = authenticate_client(services.oauth2.clients, form, authorization)
    if not client.client.is_confidential:
        raise InvalidClient("Introspection needs a confidential client.")  # RFC 7662 §2.1
    token = form.require("token")
    if len(token) > 8192:
        return INACTIVE
    attempts = [_access_token, _refresh_token]
    if form.get("token_type_hint") == "refresh_token":
        attempts.reverse()
    for attempt in attempts:
        answer = attempt(services, client, token)
        if answer is not None:
            return answer
    return INACTIVE


def _access_token(services: Services, client: AuthenticatedClient, token: str) -> dict[str, Any] | None:
    if token.count(".") != 2:
        return None
    try:
        claims = services.access_tokens.verify(token)
    except AccessTokenInvalid:
        return None
    answer: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    for name in ("scope", "client_id", "exp", "iat", "nbf", "sub", "aud", "iss", "jti", "permissions"):
        if name in claims:
            answer[name] = claims[name]
    if claims.get("sub") != claims.get("client_id"):
        username = _username(services, str(claims.get("sub", "")))
        if username is not None:
            answer["username"] = username
    return answer


def _refresh_token(services: Services, client: AuthenticatedClient, token: str) -> dict[str, Any] | None:
    with services.database.reader() as session:
        row = services.oauth2.refresh_tokens.find_active(session, token)
        if row is None or row.client_id != client.client_id:
            return None
        user = session.get(User, row.user_id) if row.user_id is not None else None
        if row.user_id is not None and (user is None or user.disabled):
            return None
        answer: dict[str, Any] = {
            "active": True, "token_type": "refresh_token", "client_id": row.client_id,
            "scope": row.scope, "exp": int(aware(row.expires_at).timestamp()),
            "iat": int(aware(row.created_at).timestamp()), "iss": services.settings.issuer,
            "sub": str(row.user_id) if row.user_id is not None else row.client_id,
        }
        if row.audience:
            answer["aud"] = row.audience
        if user is not None:
            answer["username"] = user.username
        return answer


def _username(services: Services, subject: str) -> str | None:
    if not subject.isdigit():
        return None
    key = (id(services), int(subject))
    now = time.monotonic()
    cached = _usernames.get(key)
    if cached is not None and now - cached[0] < USERNAME_CACHE_SECONDS:
        return cached[1]
    with services.database.reader() as session:
        user = session.get(User, int(subject))
        name = user.username if user is not None else None
    if len(_usernames) > 50_000:
        _usernames.clear()
    _usernames[key] = (now, name)
    return name
