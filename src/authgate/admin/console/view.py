"""How a console page runs: the logged-in admin, the permission the page needs, CSRF, flash messages.

Every page is `view(permission, handler)` (None: any logged-in admin): the console session is read from
its cookie, the access token in it checked exactly as the admin API checks a
bearer token (`auth.identify`: live, not revoked, account enabled), the page's
permission required, and for a POST the CSRF token. The handler then gets a
`Console` and acts through the service layer as that admin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from authgate.admin import segments
from authgate.admin.auth import Caller, identify
from authgate.admin.console.sessions import ConsoleLogin, ConsoleSessions
from authgate.admin.errors import status_of
from authgate.errors import DomainError
from authgate.guard.errors import GuardError
from authgate.http import csrf
from authgate.http.rendering import redirect, render
from authgate.oauth2.errors import TemporarilyUnavailable
from authgate.services import Services
from authgate.storage.database import DatabaseUnavailable

Handler = Callable[["Console"], Response]
# The sidebar: (section, path, permission that shows it).
SECTIONS = (
    ("Users", "/admin/users", "users:read"),
    ("Email", "/admin/mail", "users:read"),
    ("Roles", "/admin/roles", "roles:read"),
    ("APIs", "/admin/apis", "apis:read"),
    ("Clients", "/admin/clients", "clients:read"),
    ("Webhooks", "/admin/webhooks", "webhooks:read"),
    ("Identity providers", "/admin/identity-providers", "clients:read"),
    ("Signing keys", "/admin/keys", "keys:read"),
    ("Audit log", "/admin/audit", "audit:read"),
)


@dataclass
class Console:
    """One request to a console page, by a logged-in admin."""

    request: Request
    caller: Caller
    login: ConsoleLogin
    sessions: ConsoleSessions
    cookie: str
    form: FormData | None

    @property
    def services(self) -> Services:
        return self.caller.services

    def value(self, name: str, limit: int = 2000) -> str:
        """A form field (POST) or query parameter (GET) as text, '' when absent."""
        source = self.form if self.form is not None else self.request.query_params
        raw = source.get(name)
        return _text(raw)[:limit] if isinstance(raw, str) else ""

    def number(self, name: str, largest: int) -> int | None:
        """A whole number in 0…`largest` (it reaches a query: the column's range), else None."""
        raw = self.value(name, 40)
        if not (raw.isascii() and raw.isdigit()) or int(raw) > largest:
            return None
        return int(raw)

    def values(self, name: str) -> list[str]:
        source = self.form if self.form is not None else self.request.query_params
        return [_text(value) for value in source.getlist(name) if isinstance(value, str)][:500]

    def path(self, name: str) -> str:
        """A path parameter (a username, role name, client id), matched on its one raw segment."""
        return _text(segments.decoded(str(self.request.path_params[name])))[:400]

    def can(self, permission: str) -> bool:
        return permission in self.caller.permissions

    def render(self, template: str, context: dict[str, Any] | None = None, *, status: int = 200) -> Response:
        flashes = self.login.flashes
        if flashes:
            self.sessions.clear_flashes(self.cookie)
        path = self.request.url.path
        sections = [
            (name, href, href == path or path.startswith(href + "/"))
            for name, href, needs in SECTIONS
            if self.can(needs)
        ]
        return render(self.request, f"console/{template}", {
            "me": self.login.username, "sections": sections, "flashes": flashes, "can": self.caller.permissions,
            **(context or {}),
        }, status_code=status, csrf_session=self.cookie)

    def done(self, location: str, message: str, kind: str = "success") -> Response:
        """After a change: redirect (303), with a message for the next page."""
        self.sessions.flash(self.cookie, kind, message)
        return redirect(location)


def _text(raw: str) -> str:
    """No NUL reaches a query: nothing legitimately holds one, and PostgreSQL refuses it."""
    return raw.replace("\x00", "")


def console_sessions(request: Request) -> ConsoleSessions:
    state = request.app.state
    if getattr(state, "console_sessions", None) is None:
        state.console_sessions = ConsoleSessions(state.services)
    sessions: ConsoleSessions = state.console_sessions
    return sessions


def view(permission: str | None, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=1000) if request.method == "POST" else None
        return await run_in_threadpool(_serve, request, permission, handler, form)

    endpoint.permission = permission  # type: ignore[attr-defined]  # for tests that walk every page
    return endpoint


def _serve(request: Request, permission: str | None, handler: Handler, form: FormData | None) -> Response:
    sessions = console_sessions(request)
    try:
        value = request.cookies.get(sessions.cookie)
        login = sessions.current(value)
        if login is None or value is None:
            return to_login(request)
        try:
            caller = identify(sessions.services, login.access_token)
        except GuardError:  # expired, revoked, or the account was disabled: log in again
            sessions.end(value)
            return to_login(request)
        console = Console(request, caller, login, sessions, value, form)
        if form is not None:
            try:
                csrf.check(request, form.get(csrf.FIELD), sessions.issuer, session=value)
            except csrf.CsrfFailed:
                return console.render("problem.html", {
                    "title": "Form expired",
                    "message": "This form expired or came from another site. Go back and try again.",
                }, status=403)
        if permission is not None and not console.can(permission):
            return console.render("problem.html", {
                "title": "Not allowed",
                "message": f"This page needs the {permission} permission, which your role does not give.",
            }, status=403)
        try:
            return handler(console)
        except DomainError as error:
            return console.render("problem.html", {"title": "That did not work", "message": error.message},
                                  status=status_of(error))
    except DatabaseUnavailable:
        page = render(request, "console/problem.html", {
            "title": "Temporarily unavailable",
            "message": "The database cannot be reached right now. Try again in a moment.",
            "sections": [], "flashes": [],
        }, status_code=503, csrf_session=request.cookies.get(sessions.cookie, ""))
        page.headers.update(TemporarilyUnavailable().headers)  # Retry-After (RFC 9110 §15.6.4)
        return page


def to_login(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/admin"
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return redirect("/admin/login?" + urlencode({"next": target}))
