"""The token endpoint, ``POST /oauth/token`` (RFC 6749 §3.2, §5), as a short list of named steps:

    parse form → authenticate client → look up grant → check the client may use it → dispatch

Every answer — token or error — carries ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 §5.1) and the CORS headers of the requesting
client's registered web origins. Errors use the RFC 6749 §5.2 shape; a
database outage is 503 ``temporarily_unavailable``; anything unexpected is
500 ``server_error`` with no detail. Blocking work runs in the threadpool.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import logs
from authgate.oauth2.client_auth import (
    AuthenticatedClient,
    Credentials,
    authenticate_client,
    read_credentials,
)
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
from authgate.services import Services
from authgate.storage.database import DatabaseUnavailable
from authgate.web import cors
from authgate.web.aborted import is_aborted
from authgate.web.client_ip import client_ip

logger = logging.getLogger("authgate.oauth2")


async def token(request: Request) -> Response:
    services: Services = request.app.state.services
    if request.method == "OPTIONS":
        return cors.preflight(request, services.oauth2.clients.origin_registered)
    origin = cors.request_origin(request)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    seen: list[tuple[str, ...]] = []
    try:
        form = await read_form(request)
        authorization = request.headers.get("authorization")
        credentials = _inline_credentials(services, form, authorization)
        if credentials is not None:
            result = _token(services, form, authorization, ip, seen, credentials)
        else:
            result = await run_in_threadpool(_token, services, form, authorization, ip, seen)
    except Exception as error:
        return error_response(error, request, cors.response_headers(origin, seen[0] if seen else ()))
    return result.render(cors.response_headers(origin, seen[0]))


def _inline_credentials(services: Services, form: Form, authorization: str | None) -> Credentials | None:
    """The hot path: a grant that does no I/O once its client and the signing keys are in memory runs
    on the event loop (returns the client's credentials, read once); anything that might touch the
    database goes to the threadpool (None)."""
    grant = services.oauth2.grants.get(form.get("grant_type") or "")
    if grant is None or not getattr(grant, "inline", False) or not services.keys.is_loaded():
        return None
    try:
        credentials = read_credentials(form, authorization)
    except OAuthError:
        return None
    return credentials if services.oauth2.clients.is_warm(credentials.client_id) else None


def _token(services: Services, form: Form, authorization: str | None, ip: str, seen: list[tuple[str, ...]],
           credentials: Credentials | None = None) -> TokenResponse:
    services.keys.warm(ahead=1.0)  # keep the keys loaded for the event-loop fast path
    client = authenticate_client(services.oauth2.clients, form, authorization, credentials=credentials)
    seen.append(client.client.web_origins)  # CORS for this client's origins, on errors too
    return exchange(services, client, form, ip)


def exchange(services: Services, client: AuthenticatedClient, form: Form, ip: str) -> TokenResponse:
    """Steps after client authentication: in a worker thread, or on the event loop for an inline grant."""
    grant = look_up_grant(services.oauth2.grants, form)
    check_client_may_use(client, grant)
    result = grant.handle(TokenRequest(services, client, form, ip))
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
