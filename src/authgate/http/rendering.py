"""Rendering hosted pages: one Jinja2 environment, the CSRF token, and the security headers.

Pages are framed by nobody (`frame-ancestors 'none'`, X-Frame-Options),
leak no URL in Referer (authorization requests carry state and codes), run
no inline script (the only script, form_post's auto-submit, carries a
nonce), and are never cached.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from authgate.http import csrf

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "web" / "templates"))


def security_headers(script_nonce: str | None = None, *, from_self: bool = False) -> dict[str, str]:
    """`from_self`: a page run by same-origin script files that fetch from this origin (API docs)."""
    script = f"'nonce-{script_nonce}'" if script_nonce else "'self'" if from_self else "'none'"
    connect = "; connect-src 'self'" if from_self else ""
    policy = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        f"script-src {script}{connect}; frame-ancestors 'none'; base-uri 'none'"
    )
    # No form-action: Chromium applies it to the redirects after a submit, and
    # the login form's redirect chain ends at the client's registered URI.
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, script_nonce: str | None = None,
           csrf_session: str | None = None, scripts: bool = False) -> HTMLResponse:
    """A page whose forms carry this browser's CSRF token for `csrf_session` (csrf.token_for).
    `scripts`: the page runs our script files (/static), which fetch from this origin (passkeys)."""
    issuer = request.app.state.services.settings.issuer
    secret = csrf.secret_for(request, issuer)
    token = csrf.token_for(request, secret, csrf_session)
    values = {"csrf_token": token, "csrf_field": csrf.FIELD, "script_nonce": script_nonce, **(context or {})}
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code,
                                          headers=security_headers(script_nonce, from_self=scripts))
    csrf.remember(response, secret, issuer)
    return response


def error_page(
    request: Request, message: str, *, status_code: int = 400, title: str = "Something went wrong"
) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status_code=status_code)


def redirect(location: str) -> RedirectResponse:
    """303 after a POST (RFC 9110 §15.4.4), so the browser follows with GET."""
    return RedirectResponse(
        location, status_code=303, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def not_found(request: Request) -> Response:
    return error_page(request, "There is no such page here.", status_code=404, title="Not found")
