"""The login's second step: the authentication code, a recovery code, or enrolment when a policy needs one.

After a right password (web/pages/login.py) or at a step-up (oidc/authorize.py)
`http.pending_login.begin_second_step` records a pending login (accounts/mfa.py) and sends the
browser here; no session exists until a factor is shown. The pending login
is named by its own cookie (a random value; the server holds its digest) and
is spent once, when the session starts (`complete_second_factor`).

Contract for the other factor pages (passkeys): `pending_user_id` reads whose
login is pending, `complete_second_factor` finishes it with the methods the
factor showed (RFC 8176, e.g. ["hwk", "user"]); "mfa" is added here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import audit
from authgate.accounts import factors, recovery_codes, totp
from authgate.accounts.mfa import Pending, PendingLogins, combined
from authgate.accounts.second_factor import TOTP_AMR, FactorThrottled, SecondFactorCheck, Shown
from authgate.federation import AMR_FEDERATED
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PageForm, read_page_form
from authgate.http.pending_login import pending_cookie
from authgate.http.rendering import redirect, render
from authgate.http.sessions import BrowserSessions, is_secure

if TYPE_CHECKING:
    from authgate.services import Services

Check = Callable[..., Shown | None]
Show = Callable[[str | None, int], Response]
EXPIRED = "This sign-in took too long or was already used. Please sign in again."


# --- the contract (passkeys and any other factor) -------------------------------------------------
def pending_user_id(request: Request, services: Services) -> int | None:
    """Whose login waits for a second factor in this browser; None when none does. Reads the database."""
    pending = PendingLogins(services.database).find(request.cookies.get(pending_cookie(services)))
    return pending.user_id if pending is not None else None


async def complete_second_factor(request: Request, services: Services, user_id: int, amr: Sequence[str]) -> Response:
    """The second factor was shown (its RFC 8176 methods in `amr`): start the session, go where the login was for."""
    return await run_in_threadpool(_complete, request, services, user_id, tuple(amr))


def _complete(request: Request, services: Services, user_id: int, amr: tuple[str, ...]) -> Response:
    pending = _pending(request, services)
    if pending is None or pending.user_id != user_id or pending.must_enrol:
        return _expired(request, services)
    response = _start_session(request, services, pending, amr, redirect(pending.return_to))
    return response if response is not None else _expired(request, services)


# --- starting the step ----------------------------------------------------------------------------
# --- the code page ---------------------------------------------------------------------------------
async def code_page(request: Request) -> Response:
    return await run_in_threadpool(_code, request, None)


async def code_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_code, request, form)


def _code(request: Request, form: PageForm | None) -> Response:
    services: Services = request.app.state.services
    pending = _pending(request, services)
    if pending is None:
        return _expired(request, services)
    if pending.must_enrol:
        return redirect("/login/enrol")

    def show(error: str | None, status: int) -> Response:
        with services.database.reader() as session:
            has_passkey = any(factor.kind == "passkey" for factor in factors.factors_of(session, pending.user_id))
        return render(request, "mfa_code.html", {
            "error": error, "has_passkey": has_passkey, "username": pending.username,
        }, status_code=status, scripts=has_passkey)  # passkeys.js fetches the second-factor ceremony

    if form is None:
        return show(None, 200)
    return _submitted(request, services, pending, form, "code", totp.CODE_FIELD_LENGTH,
                      SecondFactorCheck(services).totp, show)


# --- the recovery code page ----------------------------------------------------------------------
async def recovery_page(request: Request) -> Response:
    return await run_in_threadpool(_recovery, request, None)


async def recovery_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_recovery, request, form)


def _recovery(request: Request, form: PageForm | None) -> Response:
    services: Services = request.app.state.services
    pending = _pending(request, services)
    if pending is None:
        return _expired(request, services)

    def show(error: str | None, status: int) -> Response:
        return render(request, "mfa_recovery.html", {"error": error, "username": pending.username}, status_code=status)

    if form is None:
        return show(None, 200)
    return _submitted(request, services, pending, form, "recovery_code", recovery_codes.CODE_FIELD_LENGTH,
                      SecondFactorCheck(services).recovery_code, show)


def _submitted(request: Request, services: Services, pending: Pending, form: PageForm, field: str, length: int,
               check: Check, show: Show) -> Response:
    try:
        csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
    except csrf.CsrfFailed:
        return show(csrf.FORM_EXPIRED, 403)
    code = form.value(field, length)
    if not code.strip():
        return show("Enter the code.", 400)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        shown = check(pending, code, ip=ip)
    except FactorThrottled as throttled:
        response = show(f"Too many failed attempts. Try again in {throttled.retry_after_seconds} seconds.", 429)
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    if shown is None:
        return show("That code is not right, or it was used already.", 401)
    page: Response
    if shown.recovery_codes_left is None:
        page = redirect(pending.return_to)
    else:
        page = render(request, "notice.html", {
            "title": "Recovery code accepted",
            "message": (f"You have {shown.recovery_codes_left} recovery code"
                        f"{'' if shown.recovery_codes_left == 1 else 's'} left. "
                        "Create a new set from your account page before you run out."),
            "links": [{"href": pending.return_to, "text": "Continue"},
                      {"href": "/account/factors", "text": "Manage your sign-in methods"}],
        })
    started = _start_session(request, services, pending, shown.amr, page)
    return started if started is not None else _expired(request, services)


# --- enrolment, when a policy requires a factor -----------------------------------------------------
async def enrol_page(request: Request) -> Response:
    return await run_in_threadpool(_enrol, request, None)


async def enrol_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_enrol, request, form)


def _enrol(request: Request, form: PageForm | None) -> Response:
    services: Services = request.app.state.services
    pending = _pending(request, services)
    if pending is None:
        return _expired(request, services)
    if not pending.must_enrol:
        return redirect("/login/factor")
    secrets, issuer = services.factor_secrets, services.settings.issuer
    with services.database.transaction() as session:
        enrolment = totp.pending_secret(session, secrets, pending.user_id, account_name=pending.username, issuer=issuer)
        if enrolment is None:
            enrolment = totp.begin(session, secrets, pending.user_id, account_name=pending.username, issuer=issuer)

    def show(error: str | None, status: int) -> Response:
        return render(request, "mfa_enrol.html", {
            "error": error, "secret": enrolment.secret, "qr": qr_data_uri(enrolment.uri), "action": "/login/enrol",
            "ask_password": False,
        }, status_code=status)

    if form is None:
        return show(None, 200)
    try:
        csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
    except csrf.CsrfFailed:
        return show(csrf.FORM_EXPIRED, 403)
    code = form.value("code", totp.CODE_FIELD_LENGTH)
    codes = confirm_enrolment(services, pending.user_id, pending.username, code,
                              ip=client_ip(request, tuple(services.settings.trusted_proxies)))
    if codes is None:
        return show("That code is not right. Check the time on your device and try the newest code.", 400)
    PendingLogins(services.database).enrolled(request.cookies.get(pending_cookie(services)) or "")
    page = render(request, "recovery_codes.html", {"codes": codes, "continue_to": pending.return_to})
    response = _start_session(request, services, pending, TOTP_AMR, page)
    return response if response is not None else _expired(request, services)


def confirm_enrolment(services: Services, user_id: int, username: str, code: str, *, ip: str) -> list[str] | None:
    """Confirm the authenticator app with its first code; the recovery codes to show (a new set when the
    person had none), [] when they had some; None for a wrong code."""
    with services.database.transaction() as session:
        if not totp.confirm(session, services.factor_secrets, user_id, code):
            return None
        audit.record(session, audit.FACTOR_ENROLLED, actor=username, subject=username, ip=ip, kind="totp")
        if recovery_codes.remaining(session, user_id):
            return []
        return recovery_codes.generate(session, services.factor_secrets, user_id)


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as a QR code, a PNG data URI (the pages' CSP allows `img-src data:`)."""
    return str(segno.make(uri, error="m").png_data_uri(scale=5, border=2))


# --- helpers -----------------------------------------------------------------------------------------
def _pending(request: Request, services: Services) -> Pending | None:
    return PendingLogins(services.database).find(request.cookies.get(pending_cookie(services)))


def _start_session(request: Request, services: Services, pending: Pending, amr: Sequence[str],
                   response: Response) -> Response | None:
    """Spend the pending login and start the session (replacing this browser's one); None when already spent."""
    value = request.cookies.get(pending_cookie(services)) or ""
    with services.database.transaction() as session:
        if not PendingLogins.finish(session, value):
            return None
    sessions = BrowserSessions(services)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    federated = AMR_FEDERATED in pending.amr
    replaced = sessions.current(request) if federated else None  # a step-up replaces a federated session
    cookie, sid = sessions.start(
        pending.user_id, amr=combined(pending.amr, amr), ip=ip,
        user_agent=request.headers.get("user-agent"), replacing=request.cookies.get(sessions.cookie),
    )
    if federated:  # a federated sign-in left something for now (federation/runtime.py)
        services.federation.second_step_done(value, pending.user_id, pending.username, sid,
                                             replaced_sid=replaced.sid if replaced else None, ip=ip)
    sessions.set_cookie(response, cookie)
    _clear_pending(response, services)
    return response


def _clear_pending(response: Response, services: Services) -> None:
    response.delete_cookie(pending_cookie(services), path="/", secure=is_secure(services.settings.issuer),
                           httponly=True, samesite="lax")


def _expired(request: Request, services: Services) -> Response:
    response = render(request, "notice.html", {
        "title": "Please sign in again", "message": EXPIRED, "links": [{"href": "/login", "text": "Sign in"}],
    }, status_code=400)
    _clear_pending(response, services)
    return response

