"""Token introspection, ``POST /oauth/introspect`` (RFC 7662).

Only confidential clients, authenticated (RFC 7662 §2.1: the endpoint MUST
require authorization). An active access token answers ``active: true`` with
``scope client_id username token_type exp iat nbf sub aud iss jti
permissions``; a refresh token is active only to the client that holds it.
Anything else — revoked, expired, rotated out, malformed, another issuer's —
is ``{"active": false}`` and nothing more (RFC 7662 §2.2).

Kept fast: the client record comes from the directory cache, a token's
signature is checked once per process (oauth2/verified_tokens.py), revoked jtis are mirrored in memory (oauth2/revocation_list.py)
and usernames are cached by subject for a minute (usernames never change; a
deleted user's tokens stay valid until they expire, as with any JWT). When
all of that is warm, an access token is introspected on the event loop with
no I/O; anything else (a refresh token, a cold cache) goes to the threadpool.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import jwt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authgate.accounts.users import user_by_subject
from authgate.clock import aware
from authgate.oauth2.access_tokens import AccessTokenInvalid
from authgate.oauth2.client_auth import (
    AuthenticatedClient,
    Credentials,
    authenticate_client,
    read_credentials,
)
from authgate.oauth2.errors import NO_STORE, InvalidClient, OAuthError
from authgate.oauth2.form import Form, read_form
from authgate.oauth2.token_endpoint import error_response
from authgate.storage.models import User
from authgate.subjects import client_subject

if TYPE_CHECKING:
    from authgate.services import Services

INACTIVE: dict[str, Any] = {"active": False}
USERNAME_CACHE_SECONDS = 60.0


class _NeedsIO(Exception):
    """The inline attempt would have to touch the database: run it in the threadpool instead."""


async def introspect(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        form = await read_form(request)
        authorization = request.headers.get("authorization")
        answer = None
        credentials = _warm_credentials(services, form, authorization)
        if credentials is not None:
            try:
                answer = _introspect(services, form, authorization, True, credentials)
            except _NeedsIO:
                answer = None
        if answer is None:
            answer = await run_in_threadpool(_introspect, services, form, authorization, False)
    except Exception as error:
        return error_response(error, request, {})
    return JSONResponse(answer, headers=NO_STORE)


def _warm_credentials(services: Services, form: Form, authorization: str | None) -> Credentials | None:
    """The caller's credentials (read once) when everything the inline path needs is in memory; else None."""
    if not (services.keys.is_loaded() and services.oauth2.revocations.is_fresh()):
        return None
    try:
        credentials = read_credentials(form, authorization)
    except OAuthError:
        return None
    return credentials if services.oauth2.clients.is_warm(credentials.client_id, audiences=False) else None


def _introspect(services: Services, form: Form, authorization: str | None, inline: bool,
                credentials: Credentials | None = None) -> dict[str, Any]:
    if not inline:
        services.keys.warm(ahead=1.0)  # keep the event-loop path warm
    client = authenticate_client(services.oauth2.clients, form, authorization, credentials=credentials)
    if not client.client.is_confidential:
        raise InvalidClient("Introspection needs a confidential client.")  # RFC 7662 §2.1
    token = form.require("token")
    if len(token) > 8192:
        return INACTIVE
    # The shape decides (RFC 7662 §2.1 lets the server ignore the hint): refresh tokens are
    # base64url and never contain a dot; a JWT access token always has two.
    if token.count(".") == 2:
        return _access_token(services, token, inline) or INACTIVE
    if inline:
        raise _NeedsIO()
    return _refresh_token(services, client, token) or INACTIVE


def _access_token(services: Services, token: str, inline: bool) -> dict[str, Any] | None:
    verified = services.oauth2.verified_tokens
    claims = verified.cached(token)
    if claims is None:
        if inline:
            try:
                kid = str(jwt.get_unverified_header(token).get("kid", ""))
            except jwt.PyJWTError:
                return None
            if not services.keys.knows(kid):
                raise _NeedsIO()  # an unknown kid makes the key store look again
        try:
            claims = verified.verify(token)
        except AccessTokenInvalid:
            return None
    if services.oauth2.revocations.contains(str(claims["jti"])):
        return None
    answer: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    for name in ("scope", "client_id", "exp", "iat", "nbf", "sub", "aud", "iss", "jti", "permissions"):
        if name in claims:
            answer[name] = claims[name]
    if claims.get("sub") != client_subject(str(claims.get("client_id"))):  # a user's token
        username = _usernames.get(services, str(claims.get("sub", "")), inline)
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
            "sub": user.subject if user is not None else client_subject(row.client_id),
        }
        if row.audience:
            answer["aud"] = row.audience
        if user is not None:
            answer["username"] = user.username
        return answer


class _UsernameCache:
    """user subject → username, per Services, for USERNAME_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._names: dict[tuple[int, str], tuple[float, str | None]] = {}

    def get(self, services: Services, subject: str, inline: bool) -> str | None:
        key = (id(services), subject)
        now = time.monotonic()
        cached = self._names.get(key)
        if cached is not None and now - cached[0] < USERNAME_CACHE_SECONDS:
            return cached[1]
        if inline:
            raise _NeedsIO()
        with services.database.reader() as session:
            user = user_by_subject(session, subject)
            name = user.username if user is not None else None
        if len(self._names) > 50_000:
            self._names.clear()
        self._names[key] = (now, name)
        return name


_usernames = _UsernameCache()
