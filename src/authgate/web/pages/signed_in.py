"""The account pages' one precondition: a live browser session, or to the login page and back."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authgate.http.rendering import redirect
from authgate.http.sessions import ActiveSession, BrowserSessions
from authgate.web.pages import navigation


def session_or_login(request: Request, path: str) -> ActiveSession | Response:
    """This browser's session, or a redirect to the login page that comes back to `path`."""
    session = BrowserSessions(request.app.state.services).current(request)
    if session is None:
        return redirect(navigation.with_return_to("/login", path))
    return session
