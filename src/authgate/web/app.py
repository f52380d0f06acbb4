"""The ASGI application: every route, the error edges, and the services it shares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URLPath
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.http import paths
from authgate.http.aborted import is_aborted, log_aborted, on_aborted
from authgate.http.page_form import UnreadableForm
from authgate.http.rendering import error_page
from authgate.oauth2.errors import OAuthError
from authgate.oauth2.token_endpoint import error_response
from authgate.services import Services
from authgate.settings import Settings, warn_insecure_defaults
from authgate.storage.database import DatabaseUnavailable
from authgate.tracing import Tracing
from authgate.web import headers, metrics_endpoint, observe

logger = logging.getLogger("authgate.web")


def collect_routes() -> list[BaseRoute]:
    """Each package lists its own routes; a new endpoint touches its package and one line here."""
    from authgate.oauth2 import endpoints as oauth2_endpoints
    from authgate.oidc import discovery, endpoints
    from authgate.registration import endpoint as registration
    from authgate.web import health, pages

    # The token endpoints first: routes are matched in order, and they are the hot path.
    return [*oauth2_endpoints.routes(), *health.routes, *discovery.routes, *endpoints.routes, *pages.routes,
            *registration.routes(),
            LazyRoutes("/admin", _admin_routes)]


def _admin_routes() -> list[BaseRoute]:
    from authgate.admin import app as admin

    return admin.routes()


class LazyRoutes(BaseRoute):
    """Routes under `prefix`, imported and built the first time a request reaches them.

    The admin API and console (FastAPI, their pydantic models, the guard's
    HTTP client) are ~20 MB of every server process; a worker that only ever
    answers the protocol never loads them. Matching and handling are those of
    the real routes, in their order, once loaded.
    """

    def __init__(self, prefix: str, load: Callable[[], list[BaseRoute]]) -> None:
        self.prefix = prefix
        self._load = load
        self._routes: list[BaseRoute] | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        if self._routes is None:
            self._routes = self._load()
        return self._routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        under_prefix = path == self.prefix or path.startswith(self.prefix + "/")
        if scope["type"] not in ("http", "websocket") or not under_prefix:
            return Match.NONE, {}
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, LAZY_ROUTE: route}
            if match is Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:
            return Match.PARTIAL, {**partial[1], LAZY_ROUTE: partial[0]}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(LAZY_ROUTE)
        scope["route"] = route  # what took the request, as a router records it (metrics' route template)
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)


LAZY_ROUTE = "authgate.lazy_route"


Endpoint = Callable[[Request], Awaitable[Response]]


class App(Starlette):
    """Starlette, with the machine-facing protocol endpoints dispatched directly.

    The token and introspection endpoints take most of a busy server's
    requests and render every failure themselves (`token_endpoint.error_response`),
    so they need neither the router's route-by-route matching nor the two
    exception middlewares around it: measured in-process, going through the
    router costs client_credentials ~15% and introspection ~30% more CPU per
    request. What escapes an endpoint here is rendered by the same function as
    the router's exception handlers use, so there is one error rendering. Their
    routes stay registered too, for everything else that walks the routes.
    """

    hot_paths: dict[str, Endpoint]
    edge: ASGIApp  # `dispatch` inside the observability middleware (web/observe.py), set by create_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.edge(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.hot_paths.get(scope["path"]) if scope["type"] == "http" and not scope.get("root_path") else None
        if endpoint is None:
            # Every other answer (pages, errors, 404s, 500s) gets nosniff as it is sent.
            send = headers.with_nosniff(send) if scope["type"] == "http" else send
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        scope[observe.HOT_PATH] = scope["path"]
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as error:  # noqa: BLE001 -- as the router's handlers: error_response renders every failure
            if is_aborted(error):
                log_aborted(scope.get("method", ""), scope["path"])
                return
            response = error_response(error, request, {})
        headers.nosniff(response)
        await response(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None, *,
               tracer_provider: Any = None) -> Starlette:
    """The server. `tracer_provider`: an OpenTelemetry one to trace with (else the environment's, see tracing.py)."""
    settings = settings or (services.settings if services else Settings())
    services = services or Services(settings)
    logging.getLogger("authgate").setLevel(settings.log_level.upper())
    tracing = Tracing.configure(tracer_provider)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warn_insecure_defaults(settings)
        services.oauth2.warmer.start()
        services.outbox.start()
        yield
        # uvicorn runs this once every connection is answered and closed, on SIGTERM, Ctrl-C and a
        # worker restart alike; its process then re-raises SIGTERM, so nothing later (atexit) would run.
        await run_in_threadpool(services.outbox.stop)
        services.oauth2.warmer.stop()
        await run_in_threadpool(services.oauth2.issuance_log.close)
        if "federation" in vars(services):  # made on first use (a cached_property): close what was opened
            services.federation.close()
        services.database.dispose()
        if tracing is not None:
            tracing.shutdown()

    app = App(routes=[*collect_routes(), *metrics_endpoint.routes(settings)], lifespan=lifespan)
    app.hot_paths = _hot_paths()
    app.edge = observe.edge(app.dispatch, services, tracing)
    app.state.services = services
    app.add_exception_handler(OAuthError, _error)
    app.add_exception_handler(UnreadableForm, _unreadable_form)
    app.add_exception_handler(DatabaseUnavailable, _outage)
    app.add_exception_handler(PoolTimeout, _outage)
    app.add_exception_handler(ClientDisconnect, on_aborted)
    app.add_exception_handler(Exception, _error)
    return app


@dataclass(frozen=True)
class AppFactory:
    """`create_app` for a server whose workers are started elsewhere (uvicorn's supervisor): settings
    that differ from the environment's (the issuer `serve` derives from its port) travel with the
    factory, pickled into each worker, instead of through os.environ."""

    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self) -> Starlette:
        return create_app(Settings(**self.overrides))


async def _error(request: Request, error: Exception) -> Response:
    """A protocol error as itself, an outage as 503, anything else as 500: the hot paths' renderer."""
    return error_response(error, request, {})


async def _outage(request: Request, error: Exception) -> Response:
    """The database is down or busy: 503 with Retry-After. A browser gets a page saying so, a program the
    protocol's JSON error (`error_response`)."""
    response = error_response(error, request, {})
    if "text/html" not in request.headers.get("accept", ""):
        return response
    page = error_page(request, "The service is briefly unavailable. Please try again in a moment.",
                      status_code=response.status_code, title="Temporarily unavailable")
    page.headers["Retry-After"] = response.headers.get("Retry-After", "5")
    return page


async def _unreadable_form(request: Request, error: Exception) -> Response:
    """A hosted page's form that breaks `page_form`'s rule: a page saying so, whichever it was."""
    assert isinstance(error, UnreadableForm)
    logger.info("%s %s: unreadable form (%s)", request.method, request.url.path,
                error.field or "body")
    return error_page(request, f"{error.message} Go back and check what you entered.",
                      title="The form could not be read")


def _hot_paths() -> dict[str, Endpoint]:
    from authgate.oauth2 import introspection, token_endpoint

    return {paths.TOKEN: token_endpoint.token, paths.INTROSPECTION: introspection.introspect}
