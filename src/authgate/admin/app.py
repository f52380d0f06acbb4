"""The admin REST API under /admin/api: a FastAPI app over the same service layer as the CLI.

Mounted into the server by `web/app.py`. Its OpenAPI document
(`/admin/api/openapi.json`) declares every response each operation can give,
errors included, and the permission each one needs.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate import __version__
from authgate.admin import (
    apis,
    audit,
    clients,
    docs,
    identity_providers,
    keys,
    mail,
    roles,
    user_activity,
    users,
    webhooks,
)
from authgate.admin.auth import SECURITY_SCHEME, SERVICES_KEY
from authgate.admin.errors import HANDLERS
from authgate.admin.segments import BySegments

API_PATH = "/admin/api"
DESCRIPTION = """\
Manage authgate's users, roles, APIs, clients, signing keys and audit log.

Every operation needs an access token from this server for the `authgate-admin`
audience (`Authorization: Bearer …`) carrying the permission the operation names.
Errors are `{"error": code, "error_description": text}` with a stable code, the
same the CLI prints.
"""


def build() -> FastAPI:
    api = FastAPI(
        title="authgate admin API", version=__version__, description=DESCRIPTION,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    api.router.routes.extend(docs.routes())  # FastAPI's docs page would load Swagger UI from a CDN
    for module in (users, user_activity, mail, roles, apis, clients, identity_providers, keys, audit, webhooks):
        # Flat, not include_router: the route table is then the plain list that 405's Allow and the tests walk.
        api.router.routes.extend(module.router.routes)
    for error, handler in HANDLERS.items():
        api.add_exception_handler(error, handler)
    _declare_security(api)
    return api


def _declare_security(api: FastAPI) -> None:
    """The bearer scheme the operations' `security` entries name (their permission as the role).

    And no 422 on an operation that takes neither parameters nor a body:
    nothing can be invalid there, and the document declares only what can happen.
    """
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = generate()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    if not operation.get("parameters") and "requestBody" not in operation:
                        operation.get("responses", {}).pop("422", None)
            document.setdefault("components", {}).setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An authgate access token for the audience `authgate-admin`.",
            }
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


class AdminApi:
    """The mounted app. FastAPI makes itself `scope["app"]`, so the server's Services are handed over first."""

    def __init__(self) -> None:
        self.api = build()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and SERVICES_KEY not in scope:
            scope[SERVICES_KEY] = scope["app"].state.services
        await self.api(scope, receive, send)


class _Mount(Mount):
    """Starlette's Mount, but a path with a line break (`%0A`) still reaches the admin app and its JSON errors."""

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def routes() -> list[BaseRoute]:
    """What `web/app.py` mounts: the admin API, then the console's pages (after it: /admin/api is the API's).

    Each is routed on raw path segments (`segments.py`): a name holding `/` is one segment.
    """
    from authgate.admin import console

    return [BySegments(route) for route in (_Mount(API_PATH, AdminApi()), *console.routes)]
