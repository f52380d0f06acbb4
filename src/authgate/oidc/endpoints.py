"""The OpenID Connect endpoints a browser or relying party calls, and the hosted pages they lead to."""

from __future__ import annotations

from starlette.routing import BaseRoute

from authgate.oidc import authorize, logout, userinfo
from authgate.web import pages

routes: list[BaseRoute] = [*authorize.routes, *userinfo.routes, *logout.routes, *pages.routes]
