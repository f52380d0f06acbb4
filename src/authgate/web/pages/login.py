"""The hosted login page: username and password, then back to what asked for the login.

Passwords go through `PasswordLogin`, so the brute-force protection (per
account and per address) and the audit log apply here exactly as at the
token endpoint. A failure says only that the pair was wrong (no account
enumeration); a throttled login says how long to wait. A success starts a
new browser session with a new cookie (session fixation) — unless the person
has a second factor or a policy needs one (accounts/mfa.py): then the login
waits for it (web/pages/mfa.py) and no session exists until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts import mfa
from authgate.accounts.email_verification import EmailVerification
from authgate.accounts.login import LoginFailed, LoginThrottled, LoginUnverified, PasswordLogin
from authgate.federation.providers import ProviderSpec
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PASSWORD, read_page_form
from authgate.http.pending_login import begin_second_step
from authgate.http.rendering import redirect, render
from authgate.http.sessions import BrowserSessions
from authgate.services import Services
from authgate.storage import limits
from authgate.web.pages import navigation

PASSWORD_AMR = ("pwd",)  # RFC 8176 §2


async def login_page(request: Request) -> Response:
    return_to = navigation.safe_return_to(request.query_params.get("return_to"))
    hint = (request.query_params.get("login_hint") or "")[:150]
    return await run_in_threadpool(_page, request, return_to, hint)


def _page(request: Request, return_to: str, hint: str) -> Response:
    provider = navigation.idp_hint_of(return_to)
    if provider is not None and provider in {spec.alias for spec in _offered(request, return_to)}:
        # kc_idp_hint / idp_hint on /authorize: straight to that provider (an unknown one: this page).
        return redirect(navigation.with_return_to(f"/login/idp/{quote(provider, safe='')}", return_to))
    return _show(request, return_to, hint, None, 200)


def _offered(request: Request, return_to: str) -> list[ProviderSpec]:
    """The enabled identity providers the client being signed in to offers."""
    client_id = navigation.client_id_of(return_to)
    providers = request.app.state.services.federation.read_enabled()
    return [spec for spec in providers if spec.offered_to(client_id)]


async def login_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return_to = navigation.safe_return_to(form.value("return_to", navigation.MAX_LENGTH))
    # A username or, for login by email, an address: the longer of the two columns.
    username = form.value("username", max(limits.USERNAME, limits.EMAIL)).strip()
    settings = request.app.state.services.settings
    try:
        csrf.check(request, form.get(csrf.FIELD), settings.issuer)
    except csrf.CsrfFailed:
        return await run_in_threadpool(
            _show, request, return_to, username, csrf.FORM_EXPIRED, 403)
    password = form.value("password", PASSWORD)
    if not username or not password:
        return await run_in_threadpool(_show, request, return_to, username, "Enter your username and password.", 400)
    return await run_in_threadpool(_authenticate, request, return_to, username, password)


def _authenticate(request: Request, return_to: str, username: str, password: str) -> Response:
    services = request.app.state.services
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        user = PasswordLogin(services).authenticate(
            username, password, ip=ip, client_id=navigation.client_id_of(return_to))
    except LoginThrottled as throttled:
        wait = max(1, int(throttled.retry_after_seconds))
        message = f"Too many failed attempts. Try again in {_duration(wait)}."
        response = _show(request, return_to, username, message, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    except LoginUnverified as unverified:
        _send_verification(services, unverified.username)
        return _show(request, return_to, username, "Confirm your email address first: we sent a new link to it.", 403)
    except LoginFailed:
        return _show(request, return_to, username, "The username or password is incorrect.", 401)
    with services.database.reader() as session:
        needed = mfa.requirement(session, services.settings, user.id)
    if needed is not mfa.Requirement.NONE:  # no session before the second factor (web/pages/mfa.py)
        return begin_second_step(request, services, user.id, amr=PASSWORD_AMR, needed=needed, return_to=return_to)
    return signed_in(request, redirect(return_to), user.id, amr=PASSWORD_AMR, ip=ip)


def signed_in(request: Request, response: Response, user_id: int, *, amr: Sequence[str], ip: str) -> Response:
    """`response`, after a successful login (of any kind), carrying the cookie of a new browser session
    that replaces this browser's old one (session fixation)."""
    sessions = BrowserSessions(request.app.state.services)
    value, _sid = sessions.start(
        user_id, amr=amr, ip=ip, user_agent=request.headers.get("user-agent"),
        replacing=request.cookies.get(sessions.cookie),
    )
    sessions.set_cookie(response, value)
    return response


def _send_verification(services: Services, username: str) -> None:
    with services.realm(actor=username) as realm:
        user = realm.users.get(username)
        if user.email is not None:
            EmailVerification(services).send(realm.session, user, actor=username)
    services.outbox.wake()


def _show(request: Request, return_to: str, username: str, error: str | None, status: int) -> Response:
    services = request.app.state.services
    client_name = None
    client_id = navigation.client_id_of(return_to)
    if client_id:
        with services.reader() as realm:
            client = realm.clients.find(client_id)
            client_name = (client.name or client.client_id) if client is not None else None
    return render(request, "login.html", {
        "providers": _offered(request, return_to),
        "provider_query": navigation.with_return_to("", return_to).lstrip("?"),
        "return_to": return_to, "username": username, "error": error, "client_name": client_name,
        "registration_enabled": services.settings.registration_enabled,
        "register_query": navigation.with_return_to("", return_to).lstrip("?"),
    }, status_code=status, scripts=True)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
