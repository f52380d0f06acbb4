"""The OpenID Connect endpoints a browser or relying party calls (the hosted pages are web/pages')."""

from __future__ import annotations

from starlette.routing import BaseRoute

from authgate.oidc import authorize, logout, userinfo

routes: list[BaseRoute] = [*authorize.routes, *userinfo.routes, *logout.routes]
