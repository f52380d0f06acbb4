"""The token endpoint, ``POST /oauth/token`` (RFC 6749 §3.2, §5), as a short list of named steps:

    parse form → authenticate client → look up grant → check the client may use it → dispatch

Every answer — token or error — carries ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 §5.1) and the CORS headers of the requesting
client's registered web origins. Errors use the RFC 6749 §5.2 shape; a
database outage is 503 ``temporarily_unavailable``; anything unexpected is
500 ``server_error`` with no detail.

Where a request runs is one rule, `serve`: on the event loop when everything it
needs answers from the caches' `peek()` (no I/O), otherwise in the threadpool,
where the same code may load through `get()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import logs
from authgate.caching import MISS
from authgate.http import cors
from authgate.http.aborted import is_aborted
from authgate.http.client_ip import client_ip
from authgate.oauth2.client_auth import (
    AuthenticatedClient,
    Credentials,
    authenticate_client,
    read_credentials,
)
from authgate.oauth2.client_directory import ClientRecord
from authgate.oauth2.errors import (
    NO_STORE,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from authgate.oauth2.form import Form, read_form
from authgate.oauth2.grants import Grant, GrantRegistry, TokenRequest
from authgate.oauth2.token_response import TokenResponse
from authgate.storage.database import DatabaseUnavailable

if TYPE_CHECKING:
    from authgate.services import Services

logger = logging.getLogger("authgate.oauth2")

T = TypeVar("T")
Args = TypeVarTuple("Args")


async def serve(from_memory: bool, work: Callable[[*Args], T], *args: *Args) -> T:
    """Run `work` on the event loop when `from_memory` (every cache it needs answered `peek()`),
    else in the threadpool: the one place the protocol endpoints choose."""
    if from_memory:
        return work(*args)
    return await run_in_threadpool(work, *args)


async def token(request: Request) -> Response:
    services: Services = request.app.state.services
    clients = services.oauth2.clients
    origin = cors.request_origin(request)
    if request.method == "OPTIONS":
        return await serve(clients.peek_origins() is not MISS, cors.preflight, request, clients.is_registered_origin)
    try:
        form = await read_form(request)
    except Exception as error:
        return error_response(error, request, cors.response_headers(origin, ()))
    authorization = request.headers.get("authorization")
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    return await serve(_from_memory(services, form, authorization), _answer, services, request, form, authorization, ip)


def _from_memory(services: Services, form: Form, authorization: str | None) -> bool:
    """Whether the request needs no I/O: its grant uses no storage, and the key ring, the client
    and the API list all answer from `peek()`."""
    grant = services.oauth2.grants.get(form.get("grant_type") or "")
    if grant is None or grant.uses_storage or services.keys.peek() is MISS:
        return False
    try:
        client_id = read_credentials(form, authorization).client_id
    except OAuthError:
        return False
    clients = services.oauth2.clients
    return clients.peek(client_id) is not MISS and clients.peek_audiences() is not MISS


def _answer(services: Services, request: Request, form: Form, authorization: str | None, ip: str) -> Response:
    """Authenticate, exchange, render: the token or the error, with the client's CORS headers either way."""
    origin = cors.request_origin(request)
    client: ClientRecord | None = None
    try:
        authenticated = authenticate_client(services.oauth2.clients, form, authorization)
        client = authenticated.client
        result = exchange(services, authenticated, form, ip)
    except Exception as error:
        return error_response(error, request, cors.response_headers(origin, client.web_origins if client else ()))
    return result.render(cors.response_headers(origin, client.web_origins))


def exchange(services: Services, client: AuthenticatedClient, form: Form, ip: str) -> TokenResponse:
    """Steps after client authentication."""
    grant = look_up_grant(services.oauth2.grants, form)
    check_client_may_use(client, grant)
    result = grant.handle(TokenRequest(client, form, ip))
    services.metrics.token_issued(grant.grant_type, "confidential" if client.client.is_confidential else "public")
    logs.annotate(client_id=client.client_id, sub=result.access.claims.get("sub"))
    services.oauth2.issuance_log.record(
        subject=result.subject_name, client_id=client.client_id, grant_type=grant.grant_type, ip=ip,
        sub=result.access.claims.get("sub"), jti=result.access.claims.get("jti"),
        aud=result.access.claims.get("aud"), **dict(result.audit_detail),
    )
    return result


def look_up_grant(registry: GrantRegistry, form: Form) -> Grant:
    grant_type = form.require("grant_type")
    grant = registry.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"Grant type {grant_type[:60]!r} is not supported.")  # RFC 6749 §5.2
    return grant


def check_client_may_use(client: AuthenticatedClient, grant: Grant) -> None:
    # RFC 6749 §5.2 unauthorized_client: the client is not authorised to use this grant type.
    if grant.grant_type not in client.client.grant_types:
        raise UnauthorizedClient(f"This client may not use the {grant.grant_type} grant.")
    if grant.confidential_only and not client.client.is_confidential:
        raise UnauthorizedClient(f"The {grant.grant_type} grant needs a confidential client.")  # RFC 6749 §4.4


def error_response(error: Exception, request: Request, headers: dict[str, str]) -> Response:
    """Render any failure of the protocol endpoints: OAuthError as itself, outage as 503, the rest as 500.

    A client that went away is not answered: its error goes on to the server's edge (web/aborted.py)."""
    if is_aborted(error):
        raise error
    if isinstance(error, OAuthError):
        if error.debug:
            logger.info("%s %s: %s (%s)", request.method, request.url.path, error.error, error.debug)
        rendered = error
    elif isinstance(error, DatabaseUnavailable | PoolTimeout):  # busy or down: 503, retry shortly
        logger.warning("database unavailable during %s %s: %s", request.method, request.url.path, error)
        rendered = TemporarilyUnavailable()
    else:
        logger.exception("unexpected error during %s %s", request.method, request.url.path)
        rendered = ServerError("An unexpected error occurred.")
    response = rendered.response()
    response.headers.update({**NO_STORE, **headers})
    return response
