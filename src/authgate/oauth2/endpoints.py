"""The OAuth 2 endpoints this package serves, as Starlette routes (listed once in web/app.py).

Each route accepts every method so that a wrong one gets the protocol's own
error shape (405 with `Allow`), and OPTIONS gets a CORS preflight answer.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from authgate.http import paths
from authgate.oauth2 import introspection, revocation, token_endpoint

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def routes() -> list[BaseRoute]:
    return [
        Route(paths.TOKEN, token_endpoint.token, methods=ANY_METHOD),
        Route(paths.REVOCATION, revocation.revoke, methods=ANY_METHOD),
        Route(paths.INTROSPECTION, introspection.introspect, methods=ANY_METHOD),
    ]
