"""The account's passkeys page: list, register (through /static/passkeys.js), rename, remove.

Removing a passkey takes a fresh proof that the person is who the session
says: a sign-in within `REAUTHENTICATION_WINDOW`, or the password again
(checked by `PasswordLogin.reconfirm`: throttled and audited like a login).
"""

from __future__ import annotations

from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.login import LoginFailed, LoginThrottled, PasswordLogin
from authgate.accounts.passkeys import NAME_LENGTH, Passkeys
from authgate.clock import utcnow
from authgate.errors import InvalidInput, NotFound
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PASSWORD, PageForm, read_page_form
from authgate.http.rendering import redirect, render
from authgate.http.sessions import ActiveSession
from authgate.storage import limits
from authgate.web.pages.signed_in import session_or_login

PATH = "/account/passkeys"
REAUTHENTICATION_WINDOW = timedelta(minutes=5)
NOTICES = {"added": "Passkey added.", "renamed": "Passkey renamed.", "removed": "Passkey removed."}


def recently_authenticated(session: ActiveSession) -> bool:
    return utcnow() - session.auth_time <= REAUTHENTICATION_WINDOW


async def passkeys_page(request: Request) -> Response:
    return await run_in_threadpool(_page, request, None)


async def passkey_rename(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_page, request, ("rename", form))


async def passkey_remove(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_page, request, ("remove", form))


def _page(request: Request, action: tuple[str, PageForm] | None) -> Response:
    services = request.app.state.services
    session = session_or_login(request, PATH)
    if not isinstance(session, ActiveSession):
        return session
    passkeys = Passkeys(services)

    def show(status: int = 200, error: str | None = None, field_errors: dict[int, str] | None = None) -> Response:
        notice = NOTICES.get(request.query_params.get("done", ""))
        return render(request, "passkeys.html", {
            "username": session.username, "passkeys": passkeys.list(session.user_id), "notice": notice,
            "error": error, "field_errors": field_errors or {}, "name_length": NAME_LENGTH,
            "needs_password": not recently_authenticated(session),
        }, status_code=status, scripts=True)

    if action is None:
        return show()
    kind, form = action
    try:
        csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
    except csrf.CsrfFailed:
        return show(403, csrf.FORM_EXPIRED)
    raw_id = form.value("passkey_id", len(str(limits.PASSKEY_ID)))
    if not (raw_id.isascii() and raw_id.isdigit()) or not 0 < int(raw_id) <= limits.PASSKEY_ID:
        return show(400, "Choose a passkey from the list.")
    passkey_id = int(raw_id)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        if kind == "rename":
            passkeys.rename(session.user_id, passkey_id, form.value("name", NAME_LENGTH), actor=session.username, ip=ip)
            return redirect(f"{PATH}?done=renamed")
        if not recently_authenticated(session):
            PasswordLogin(services).reconfirm(session.username, form.value("current_password", PASSWORD), ip=ip)
        passkeys.remove(session.user_id, passkey_id, actor=session.username, ip=ip)
        return redirect(f"{PATH}?done=removed")
    except LoginThrottled as throttled:
        return show(429, f"Too many failed attempts. Try again in {throttled.retry_after_seconds} seconds.")
    except LoginFailed:
        return show(400, "Please correct the errors below.", {passkey_id: "The password is incorrect."})
    except InvalidInput as error:
        return show(400, "Please correct the errors below.", {passkey_id: error.message})
    except NotFound:
        return show(404, "That passkey is not one of yours (any more).")
