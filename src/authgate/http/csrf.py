"""CSRF protection for the hosted pages and the console: tokens bound to the session, origin checks.

Every browser gets a random secret in a cookie (HttpOnly, SameSite=Lax,
`__Host-` prefixed over https so a sibling subdomain cannot plant one). A
form's hidden token is an HMAC, under a key derived from the master key, of
that secret and the session the form belongs to: the hosted-login session
cookie, or the console's (before login, the secret alone). A POST passes only
when its token is the one for the cookies it arrives with (constant-time), so
a token from another browser or another session is refused, and the browser's
own hints do not say cross-site: `Origin` (when not "null", which
`Referrer-Policy: no-referrer` makes browsers send) must be the issuer's origin
and `Sec-Fetch-Site` must not be `cross-site` (OWASP CSRF Prevention Cheat
Sheet: signed double-submit cookie + fetch metadata / origin verification).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from authgate.http import sessions
from authgate.http.sessions import is_secure
from authgate.masterkey import derived_key

# What a page says when a form's token does not pass (expired, or sent from another site).
FORM_EXPIRED = "This form expired or came from another site. Please try again."

COOKIE = "authgate_csrf"
FIELD = "csrf_token"
#: What the HMAC key is derived for (`masterkey.derived_key`); also the tokens' domain separator.
KEY_PURPOSE = b"authgate csrf v1"


class CsrfFailed(Exception):
    """The form did not come from one of our pages in this browser."""


def cookie_name(issuer: str) -> str:
    return f"__Host-{COOKIE}" if is_secure(issuer) else COOKIE


def secret_for(request: Request, issuer: str) -> str:
    """This browser's secret: the cookie's, or a new one (set it with `remember`)."""
    existing = request.cookies.get(cookie_name(issuer), "")
    if 32 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def remember(response: Response, secret: str, issuer: str) -> None:
    name, secure = cookie_name(issuer), is_secure(issuer)
    response.set_cookie(name, secret, path="/", secure=secure, httponly=True, samesite="lax")


def token_for(request: Request, secret: str, session: str | None = None) -> str:
    """The form token for this browser's secret and `session` (None: the hosted-login session's)."""
    bound = session if session is not None else _hosted_session(request)
    return token_of(_key(request), secret, bound)


def token_of(key: bytes, secret: str, session: str) -> str:
    """The form token for a browser's `secret` bound to `session` ("" before any session)."""
    message = b"\x00".join((KEY_PURPOSE, secret.encode(), session.encode()))
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check(request: Request, form_token: object, issuer: str, session: str | None = None) -> None:
    """Raise CsrfFailed unless the token is this browser's for `session` and the origin is ours."""
    origin = request.headers.get("origin")
    if origin not in (None, "null") and origin != _origin_of(issuer):
        raise CsrfFailed(f"cross-origin form post from {origin[:100]}")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfFailed("cross-site form post (Sec-Fetch-Site)")
    secret = request.cookies.get(cookie_name(issuer), "")
    if not isinstance(form_token, str) or not secret or not form_token:
        raise CsrfFailed("missing CSRF token")
    expected = token_for(request, secret, session)
    if not hmac.compare_digest(expected.encode(), form_token.encode()):
        raise CsrfFailed("CSRF token not this browser's for this session")


def _hosted_session(request: Request) -> str:
    issuer: str = request.app.state.services.settings.issuer
    return request.cookies.get(sessions.cookie_name(issuer), "")


def _key(request: Request) -> bytes:
    """Derived once per app from the master key (reading it may touch the data directory)."""
    state = request.app.state
    key: bytes | None = getattr(state, "csrf_key", None)
    if key is None:
        key = state.csrf_key = derived_key(state.services.settings, KEY_PURPOSE)
    return key


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
