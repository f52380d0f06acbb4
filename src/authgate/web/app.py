"""The ASGI application: every route, the error edges, and the services it shares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from authgate.oauth2.errors import NO_STORE, OAuthError, TemporarilyUnavailable
from authgate.services import Services
from authgate.settings import Settings, warn_insecure_defaults
from authgate.storage.database import DatabaseUnavailable

logger = logging.getLogger("authgate.web")


def collect_routes() -> list[BaseRoute]:
    """Each package lists its own routes; a new endpoint touches its package and one line here."""
    from authgate.admin import app as admin
    from authgate.oauth2 import endpoints as oauth2_endpoints
    from authgate.oidc import discovery, endpoints
    from authgate.web import health

    # The token endpoints first: routes are matched in order, and they are the hot path.
    return [*oauth2_endpoints.routes(), *health.routes, *discovery.routes, *endpoints.routes, *admin.routes()]


Endpoint = Callable[[Request], Awaitable[Response]]


class App(Starlette):
    """Starlette, with the machine-facing protocol endpoints dispatched directly.

    The token and introspection endpoints take most of a busy server's
    requests and handle every failure themselves (each becomes its protocol's
    error response), so they need neither the router's route-by-route
    matching nor the two exception middlewares around it: on the
    client_credentials path those cost about a tenth of the request. Their
    routes stay registered too, for everything else that walks the routes.
    """

    hot_paths: dict[str, Endpoint]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.hot_paths.get(scope["path"]) if scope["type"] == "http" and not scope.get("root_path") else None
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:  # noqa: BLE001 - what ServerErrorMiddleware would do, in the protocol's shape
            logger.exception("unexpected error during %s %s", scope.get("method"), scope["path"])
            response = _server_error()
        await response(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or (services.settings if services else Settings())
    services = services or Services(settings)
    logging.getLogger("authgate").setLevel(settings.log_level.upper())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warn_insecure_defaults(settings)
        services.oauth2.warmer.start()
        yield
        services.oauth2.warmer.stop()
        services.database.dispose()

    app = App(routes=collect_routes(), lifespan=lifespan)
    app.hot_paths = _hot_paths()
    app.state.services = services
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _oauth_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, OAuthError)
    if error.debug:
        logger.info("%s %s: %s (%s)", request.method, request.url.path, error.error, error.debug)
    return error.response()


async def _unavailable(request: Request, error: Exception) -> Response:
    logger.warning("database unavailable during %s %s: %s", request.method, request.url.path, error)
    return TemporarilyUnavailable().response()


async def _unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error during %s %s", request.method, request.url.path)
    return _server_error()


def _server_error() -> Response:
    return JSONResponse({"error": "server_error", "error_description": "An unexpected error occurred."},
                        status_code=500, headers=NO_STORE)


def _hot_paths() -> dict[str, Endpoint]:
    from authgate.oauth2 import introspection, token_endpoint
    from authgate.oidc.discovery import PATHS

    return {PATHS["token_endpoint"]: token_endpoint.token, PATHS["introspection_endpoint"]: introspection.introspect}
