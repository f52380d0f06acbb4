"""Token introspection, ``POST /oauth/introspect`` (RFC 7662).

Only confidential clients, authenticated (RFC 7662 §2.1: the endpoint MUST
require authorization). An active access token answers ``active: true`` with
``scope client_id username token_type exp iat nbf sub aud iss jti
permissions``; a refresh token is active only to the client that holds it.
Anything else — revoked, expired, rotated out, malformed, another issuer's —
is ``{"active": false}`` and nothing more (RFC 7662 §2.2).

Kept fast: the client record comes from the directory cache, a token's
signature is checked once per process (oauth2/verified_tokens.py), revoked
jtis are mirrored in memory (oauth2/revocation_list.py) and usernames are
cached by subject (oauth2/usernames.py). When all of those answer from
`peek()`, an access token is introspected on the event loop with no I/O;
anything else (a refresh token, a token not seen before, a cold cache) goes to
the threadpool (`token_endpoint.serve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authgate.caching import MISS
from authgate.clock import aware
from authgate.oauth2.access_tokens import AccessTokenInvalid
from authgate.oauth2.client_auth import AuthenticatedClient, authenticate_client, read_credentials
from authgate.oauth2.errors import NO_STORE, InvalidClient, OAuthError
from authgate.oauth2.form import Form, read_form
from authgate.oauth2.token_endpoint import error_response, serve
from authgate.storage.models import User
from authgate.subjects import client_subject

if TYPE_CHECKING:
    from authgate.services import Services

INACTIVE: dict[str, Any] = {"active": False}
MAX_TOKEN_LENGTH = 8192
ANSWERED_MEMBERS = ("scope", "client_id", "exp", "iat", "nbf", "sub", "aud", "iss", "jti", "permissions")


async def introspect(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        form = await read_form(request)
    except Exception as error:  # noqa: BLE001 - error_response renders every failure, an unexpected one as a logged 500
        return error_response(error, request, {})
    authorization = request.headers.get("authorization")
    return await serve(_from_memory(services, form, authorization), _answer, services, request, form, authorization)


def _from_memory(services: Services, form: Form, authorization: str | None) -> bool:
    """Whether the answer needs no I/O: the caller's client record, the token's verified claims,
    its revocation and its user's name all answer from `peek()`."""
    token = form.get("token")
    if token is None or token.count(".") != 2 or len(token) > MAX_TOKEN_LENGTH:
        return False
    try:
        client_id = read_credentials(form, authorization).client_id
    except OAuthError:
        return False
    if services.oauth2.clients.peek(client_id) is MISS:
        return False
    claims = services.oauth2.verified_tokens.peek(token)
    if claims is MISS or services.oauth2.revocations.peek(str(claims["jti"])) is MISS:
        return False
    return not _is_users(claims) or services.oauth2.usernames.peek(str(claims.get("sub", ""))) is not MISS


def _answer(services: Services, request: Request, form: Form, authorization: str | None) -> Response:
    try:
        answer = _introspect(services, form, authorization)
    except Exception as error:  # noqa: BLE001 - error_response renders every failure, an unexpected one as a logged 500
        return error_response(error, request, {})
    return JSONResponse(answer, headers=NO_STORE)


def _introspect(services: Services, form: Form, authorization: str | None) -> dict[str, Any]:
    client = authenticate_client(services.oauth2.clients, form, authorization)
    if not client.client.is_confidential:
        raise InvalidClient("Introspection needs a confidential client.")  # RFC 7662 §2.1
    token = form.require("token")
    if len(token) > MAX_TOKEN_LENGTH:
        return INACTIVE
    # The shape decides (RFC 7662 §2.1 lets the server ignore the hint): refresh tokens are
    # base64url and never contain a dot; a JWT access token always has two.
    if token.count(".") == 2:
        return _access_token(services, token) or INACTIVE
    return _refresh_token(services, client, token) or INACTIVE


def _is_users(claims: dict[str, Any]) -> bool:
    return claims.get("sub") != client_subject(str(claims.get("client_id")))


def _access_token(services: Services, token: str) -> dict[str, Any] | None:
    try:
        claims = services.oauth2.verified_tokens.get(token)
    except AccessTokenInvalid:
        return None
    if services.oauth2.revocations.contains(str(claims["jti"])):
        return None
    answer: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    for name in ANSWERED_MEMBERS:
        if name in claims:
            answer[name] = claims[name]
    if _is_users(claims):
        username = services.oauth2.usernames.get(str(claims.get("sub", "")))
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
