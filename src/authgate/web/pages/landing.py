"""`/`: where a person who typed the server's address lands — links to what they can do here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse

from authgate.http.rendering import TEMPLATES, security_headers


async def landing_page(request: Request) -> HTMLResponse:
    """No form on it, so no CSRF token: only links to the account, the console and discovery."""
    return TEMPLATES.TemplateResponse(request, "landing.html", {}, headers=security_headers())
