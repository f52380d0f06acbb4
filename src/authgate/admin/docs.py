"""/admin/api/docs: the admin API's OpenAPI document in Swagger UI, every byte from this server.

FastAPI's own docs page loads Swagger UI from a public CDN, unpinned, with an
inline script: blank offline, and a supply-chain risk on an identity server's
admin origin. Here the page is a template, its assets come from the pinned
`swagger-ui-bundle-v2` package (Swagger UI under the Apache-2.0 licence) and
its start-up script from authgate's static files, so the page runs under the
pages' security headers with scripts from 'self' only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route
from swagger_ui_bundle import swagger_ui_path

from authgate.http.rendering import TEMPLATES, security_headers

# The only files of the bundle the page uses: anything else under its directory is not served.
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
# Versioned in the path, so a browser may keep them: a new release is a new URL.
ASSET_PATH = f"/admin/api/docs/{Path(str(swagger_ui_path)).name}"


async def docs_page(request: Request) -> Response:
    return TEMPLATES.TemplateResponse(
        request,
        "api_docs.html",
        {"assets": ASSET_PATH},
        headers=security_headers(from_self=True),
    )


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise HTTPException(404)  # the admin API's JSON 404
    return FileResponse(
        Path(str(swagger_ui_path)) / name, headers={"Cache-Control": "public, max-age=86400"}
    )


def routes() -> list[BaseRoute]:
    """Relative to the admin API's mount; no token needed, as for the OpenAPI document itself."""
    prefix = ASSET_PATH.removeprefix("/admin/api")
    return [
        Route("/docs", docs_page, methods=["GET"]),
        Route(f"{prefix}/{{name}}", asset, methods=["GET"]),
    ]
