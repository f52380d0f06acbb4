"""Who is calling the admin API, and whether they may: authgate's own access tokens.

Every admin route names the permission it needs with `requires("users:read")`.
`AdminRoute` checks the bearer token for it before the request is read any
further, so a caller without the right token learns nothing — not even that
its input was malformed. The permission comes from the token's `permissions`
claim for the `authgate-admin` audience; the token is verified with the
server's own keys and revocation list.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.users import user_by_subject
from authgate.admin import segments
from authgate.admin.errors import COMMON_RESPONSES
from authgate.bootstrap import ADMIN_API
from authgate.errors import Conflict
from authgate.guard.bearer import bearer_token
from authgate.guard.errors import InsufficientPermission, InvalidToken
from authgate.oauth2 import jws
from authgate.oauth2.access_tokens import AccessTokenInvalid
from authgate.services import Realm, Services
from authgate.storage.models import Client
from authgate.subjects import client_subject

SERVICES_KEY = "authgate.services"
CALLER_KEY = "authgate.admin.caller"
PERMISSION_KEY = "x-required-permission"
SECURITY_SCHEME = "bearer"


@dataclass(frozen=True)
class Caller:
    """The admin behind a request: named in the audit log as `actor`."""

    actor: str
    subject: str
    client_id: str
    permissions: frozenset[str]
    services: Services
    claims: dict[str, Any] = field(repr=False, compare=False)

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            # RFC 6750 §3.1: insufficient_scope, naming what the request needs.
            raise InsufficientPermission(f"This operation needs the {permission} permission.", scope=permission)

    def must_not_be(self, username: str, action: str) -> None:
        """An admin disabling or deleting themselves is a mistake, not a request: they would lose the console."""
        if self.actor == f"user:{username}":
            raise Conflict(f"You cannot {action} your own account.")

    @contextmanager
    def realm(self) -> Iterator[Realm]:
        """One write transaction whose admin changes are audited as this caller's."""
        with self.services.realm(actor=self.actor) as realm:
            yield realm

    @contextmanager
    def reader(self) -> Iterator[Realm]:
        with self.services.reader() as realm:
            yield realm


def requires(permission: str) -> dict[str, Any]:
    """A route's `openapi_extra`: the permission it needs, also shown in the OpenAPI document."""
    return {PERMISSION_KEY: permission, "security": [{SECURITY_SCHEME: [permission]}]}


def authenticate(services: Services, authorization: str | None, permission: str) -> Caller:
    """The caller, if the bearer token is ours, live, and holds `permission`; a GuardError otherwise."""
    caller = identify(services, bearer_token(authorization, jws.MAX_TOKEN_BYTES))  # RFC 6750 §2.1
    caller.require(permission)
    return caller


def identify(services: Services, token: str) -> Caller:
    """Who an admin access token speaks for, and what it may do; InvalidToken if it is not one."""
    try:
        claims = services.access_tokens.verify(token, audience=ADMIN_API)
    except AccessTokenInvalid as error:
        raise InvalidToken("The access token is invalid, expired or revoked.") from error
    held = claims.get("permissions")
    listed = held if isinstance(held, list) else []
    permissions = frozenset(value for value in listed if isinstance(value, str))
    return Caller(_actor(services, claims), str(claims["sub"]), str(claims["client_id"]), permissions, services, claims)


def _actor(services: Services, claims: dict[str, Any]) -> str:
    """`user:<username>` or `client:<client_id>`; an account disabled or deleted since the token was issued is
    refused."""
    subject, client_id = str(claims["sub"]), str(claims["client_id"])
    with services.database.reader() as session:
        if subject == client_subject(client_id):  # RFC 9068 §2.2: a client acting for itself
            client = session.scalar(select(Client).where(Client.client_id == client_id))
            if client is not None and not client.disabled:
                return f"client:{client_id}"
        else:
            user = user_by_subject(session, subject)
            if user is not None and not user.disabled:
                return f"user:{user.username}"
    raise InvalidToken("The account behind this token no longer exists or is disabled.")


def current_caller(request: Request) -> Caller:
    caller: Caller = request.scope[CALLER_KEY]
    return caller


Admin = Annotated[Caller, Depends(current_caller)]


class AdminRoute(APIRoute):
    """An admin API route: declares its permission and errors, and checks the token first."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        extra = kwargs.get("openapi_extra") or {}
        if PERMISSION_KEY not in extra:
            # So a new route cannot forget its permission: it would not even start.
            raise TypeError(f"admin route {path} must declare openapi_extra=requires(<permission>)")
        self.permission: str = extra[PERMISSION_KEY]
        kwargs["responses"] = {**COMMON_RESPONSES, **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        permission = self.permission

        async def checked(request: Request) -> Response:
            # Matched on raw segments (segments.py): each parameter is decoded here, once.
            request.scope["path_params"] = segments.decode_all(request.path_params)
            services: Services = request.scope[SERVICES_KEY]
            authorization = request.headers.get("authorization")
            request.scope[CALLER_KEY] = await run_in_threadpool(authenticate, services, authorization, permission)
            return await handler(request)

        return checked
