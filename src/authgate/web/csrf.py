"""CSRF protection for the hosted pages' forms: double-submit cookie plus an origin check.

Every page with a form gets a random token in a cookie (HttpOnly, SameSite=Lax,
`__Host-` prefixed over https so a sibling subdomain cannot plant one) and the
same token in a hidden field. A POST passes only when the two are equal
(constant-time), and the browser's own hints do not say cross-site: `Origin`
(when not "null", which `Referrer-Policy: no-referrer` makes browsers send) must
be the issuer's origin and `Sec-Fetch-Site` must not be `cross-site` (OWASP CSRF
Prevention Cheat Sheet: double submit + fetch metadata / origin verification).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from authgate.web.sessions import is_secure

COOKIE = "authgate_csrf"
FIELD = "csrf_token"


class CsrfFailed(Exception):
    """The form did not come from one of our pages in this browser."""


def cookie_name(issuer: str) -> str:
    return f"__Host-{COOKIE}" if is_secure(issuer) else COOKIE


def token_for(request: Request, issuer: str) -> str:
    """The token for this browser: the cookie's, or a new one (set it with `remember`)."""
    existing = request.cookies.get(cookie_name(issuer), "")
    if 32 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def remember(response: Response, token: str, issuer: str) -> None:
    response.set_cookie(cookie_name(issuer), token, path="/", secure=is_secure(issuer), httponly=True, samesite="lax")


def check(request: Request, form_token: object, issuer: str) -> None:
    """Raise CsrfFailed unless the form's token matches the cookie and the origin is ours."""
    origin = request.headers.get("origin")
    if origin not in (None, "null") and origin != _origin_of(issuer):
        raise CsrfFailed(f"cross-origin form post from {origin[:100]}")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfFailed("cross-site form post (Sec-Fetch-Site)")
    cookie = request.cookies.get(cookie_name(issuer), "")
    if not isinstance(form_token, str) or not cookie or not form_token:
        raise CsrfFailed("missing CSRF token")
    if not hmac.compare_digest(cookie.encode(), form_token.encode()):
        raise CsrfFailed("CSRF token mismatch")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
