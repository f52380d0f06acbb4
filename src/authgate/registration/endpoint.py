"""The client registration endpoint (RFC 7591 §3) and client configuration endpoint (RFC 7592 §2).

`POST /oauth/register` creates a client, as the `client_registration`
setting allows: `open` (anyone, public clients only, rate-limited per
address) or `token` (a Bearer initial access token). Each registered client
gets a `registration_client_uri` (`/oauth/register/<client_id>`) where its
registration access token reads (GET), replaces (PUT) and deletes (DELETE)
it. With `off` (the default) none of these routes answers.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from authgate.accounts.throttle import Rule
from authgate.clock import utcnow
from authgate.http.client_ip import client_ip
from authgate.http.paths import REGISTRATION as PATH
from authgate.oauth2.errors import NO_STORE, InvalidRequest, InvalidToken, MethodNotAllowed
from authgate.oauth2.token_endpoint import error_response
from authgate.registration import initial_tokens, registrations
from authgate.registration.errors import InvalidClientMetadata, RegistrationRateLimited
from authgate.registration.metadata import MAX_BODY_BYTES, parse_client_metadata

if TYPE_CHECKING:
    from authgate.services import Services

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def enabled(services: Services) -> bool:
    return services.settings.client_registration != "off"


async def register(request: Request) -> Response:
    services: Services = request.app.state.services
    if not enabled(services):
        return Response(status_code=404)
    try:
        if request.method != "POST":
            raise MethodNotAllowed("POST")
        ip = client_ip(request, tuple(services.settings.trusted_proxies))
        body = await _read_body(request)
        answer = await run_in_threadpool(_register, services, body, request.headers.get("authorization"), ip)
    except Exception as error:  # noqa: BLE001 - error_response renders every failure, an unexpected one as a logged 500
        return error_response(error, request, {})
    return JSONResponse(answer, status_code=201, headers=NO_STORE)  # RFC 7591 §3.2.1


async def configuration(request: Request) -> Response:
    services: Services = request.app.state.services
    if not enabled(services):
        return Response(status_code=404)
    try:
        if request.method not in ("GET", "PUT", "DELETE"):
            raise MethodNotAllowed("GET, PUT, DELETE")
        body = await _read_body(request) if request.method == "PUT" else b""
        answer = await run_in_threadpool(
            _configure, services, request.method, request.path_params["client_id"],
            request.headers.get("authorization"), body,
        )
    except Exception as error:  # noqa: BLE001 - error_response renders every failure, an unexpected one as a logged 500
        return error_response(error, request, {})
    if answer is None:
        return Response(status_code=204, headers=NO_STORE)  # RFC 7592 §2.3
    return JSONResponse(answer, headers=NO_STORE)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise InvalidClientMetadata(f"The metadata must be at most {MAX_BODY_BYTES} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise InvalidClientMetadata(f"The metadata must be at most {MAX_BODY_BYTES} bytes.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidClientMetadata("The metadata must be sent as application/json.")  # RFC 7591 §3.1
    return body


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _register(services: Services, body: bytes, authorization: str | None, ip: str) -> dict[str, Any]:
    settings = services.settings
    if settings.client_registration == "token":
        token = _bearer(authorization)
        if token is None or not initial_tokens.is_valid(settings, token, utcnow()):
            raise InvalidToken("A valid initial access token is required to register.")  # RFC 7591 §3
    else:
        _count_registration(services, ip)
    metadata = parse_client_metadata(body, public_only=settings.client_registration == "open")
    with services.realm(actor=f"registration:{ip}") as realm:
        registration = registrations.register(realm, metadata)
        return _describe(services, registration)


def _count_registration(services: Services, ip: str) -> None:
    """Open registration: at most `client_registration_rate` attempts per address per window."""
    settings, counters = services.settings, services.throttle.counters
    key = f"register:{ip}"
    state = counters.state([key])
    if state.locked_for > 0:
        raise RegistrationRateLimited(math.ceil(state.locked_for))
    window = settings.lockout_window
    # The attempt that reaches the rate locks the address until the window has passed.
    counters.add_failures([(key, Rule(settings.client_registration_rate, float(window), float(window), window))])


def _configure(services: Services, method: str, client_id: str, authorization: str | None,
               body: bytes) -> dict[str, Any] | None:
    token = _bearer(authorization)
    metadata = (parse_client_metadata(body, public_only=services.settings.client_registration == "open")
                if method == "PUT" else None)
    with services.realm(actor=f"registration:{client_id[:100]}") as realm:
        client = registrations.find(realm, client_id, token) if token else None
        if client is None:
            # RFC 7592 §2.1: an invalid token or an unknown client answer alike.
            raise InvalidToken("The registration access token is invalid for this client.")
        if method == "DELETE":
            registrations.delete(realm, client)
            return None
        if metadata is not None:
            _check_same_client(body, client_id)
            return _describe(services, registrations.replace_metadata(realm, client, metadata))
        return _describe(services, registrations.Registration(client, registrations.metadata_of(client)))


def _check_same_client(body: bytes, client_id: str) -> None:
    document = json.loads(body)
    if document.get("client_id") not in (None, client_id):
        raise InvalidRequest("client_id in the body must be the one in the URL.")  # RFC 7592 §2.2


def _describe(services: Services, registration: registrations.Registration) -> dict[str, Any]:
    client, metadata = registration.client, registration.metadata
    answer: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(registrations.registered_at(client).timestamp()),
        "redirect_uris": list(metadata.redirect_uris),
        "grant_types": list(metadata.grant_types),
        "response_types": list(metadata.response_types),
        "token_endpoint_auth_method": metadata.token_endpoint_auth_method,
        "application_type": metadata.application_type,
        "registration_client_uri": f"{services.settings.issuer}{PATH}/{client.client_id}",
    }
    if metadata.client_name is not None:
        answer["client_name"] = metadata.client_name
    if metadata.scope is not None:
        answer["scope"] = metadata.scope
    if registration.client_secret is not None:
        answer.update(client_secret=registration.client_secret, client_secret_expires_at=0)
    if registration.registration_access_token is not None:
        answer["registration_access_token"] = registration.registration_access_token
    return answer


def routes() -> list[BaseRoute]:
    return [
        Route(PATH, register, methods=ANY_METHOD),
        Route(PATH + "/{client_id}", configuration, methods=ANY_METHOD),
    ]

