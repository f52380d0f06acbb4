"""The signed-in person's sign-in methods: list, add an authenticator app, rename, remove, new recovery codes.

Every change asks for the password again (`PasswordLogin.reconfirm`:
throttled and audited like a login): a session left open on a shared
computer must not be enough to add or remove a factor. Adding an app
upgrades this browser's session to multi-factor (the person just showed
their password and a code); it starts anew, with a new cookie.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import audit
from authgate.accounts import factors, mfa, recovery_codes, totp
from authgate.accounts.login import LoginFailed, LoginThrottled, PasswordLogin
from authgate.accounts.second_factor import TOTP_AMR
from authgate.errors import DomainError, NotFound
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PASSWORD, PageForm, read_page_form
from authgate.http.rendering import redirect, render
from authgate.http.sessions import ActiveSession, BrowserSessions
from authgate.services import Services
from authgate.web.pages.mfa import confirm_enrolment, qr_data_uri
from authgate.web.pages.signed_in import session_or_login

NOTICES = {"renamed": "The name was changed.", "removed": "The sign-in method was removed.",
           "added": "Your authenticator app is set up."}
FACTOR_ID = 64


async def factors_page(request: Request) -> Response:
    return await run_in_threadpool(_list, request, None, 200, None)


def _list(request: Request, error: str | None, status: int, codes: list[str] | None) -> Response:
    services: Services = request.app.state.services
    session = session_or_login(request, "/account/factors")
    if not isinstance(session, ActiveSession):
        return session
    with services.database.reader() as db:
        found = factors.factors_of(db, session.user_id)
        has_totp = totp.has_confirmed(db, session.user_id)
    return render(request, "account_factors.html", {
        "username": session.username, "factors": found, "error": error,
        "notice": NOTICES.get(request.query_params.get("done") or ""), "codes": codes,
        "can_add_totp": services.settings.mfa != "off" and not has_totp,
        "has_second_factor": any(factor.second_factor for factor in found),
    }, status_code=status)


async def change_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_change, request, form)


def _change(request: Request, form: PageForm) -> Response:
    services: Services = request.app.state.services
    session = session_or_login(request, "/account/factors")
    if not isinstance(session, ActiveSession):
        return session
    refused = _refused(request, services, session, form)
    if refused is not None:
        return _list(request, refused[0], refused[1], None)
    action, kind, factor_id = form.value("action", 20), form.value("kind", 40), form.value("id", FACTOR_ID)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        with services.database.transaction() as db:
            if action == "rename":
                factor = factors.rename(db, session.user_id, kind, factor_id, form.value("name", factors.NAME_LENGTH))
                audit.record(db, audit.FACTOR_RENAMED, actor=session.username, subject=session.username, ip=ip,
                             kind=factor.kind)
                done = "renamed"
            elif action == "remove":
                factor = factors.remove(db, session.user_id, kind, factor_id)
                audit.record(db, audit.FACTOR_REMOVED, actor=session.username, subject=session.username, ip=ip,
                             kind=factor.kind)
                done = "removed"
            elif action == "regenerate" and factors.has_second_factor(db, session.user_id):
                codes = recovery_codes.generate(db, services.factor_secrets, session.user_id)
                audit.record(db, audit.RECOVERY_CODES_REGENERATED, actor=session.username, subject=session.username,
                             ip=ip)
                return _list(request, None, 200, codes)
            else:
                return _list(request, "This change is not possible.", 400, None)
    except NotFound:
        return _list(request, "There is no such sign-in method.", 404, None)
    except DomainError as error:
        return _list(request, error.message, 400, None)
    return redirect(f"/account/factors?done={done}")


def _refused(request: Request, services: Services, session: ActiveSession, form: PageForm) -> tuple[str, int] | None:
    """The form's CSRF token, then the password asked again: a message and status when either fails."""
    try:
        csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
    except csrf.CsrfFailed:
        return csrf.FORM_EXPIRED, 403
    try:
        PasswordLogin(services).reconfirm(session.username, form.value("password", PASSWORD),
                                          ip=client_ip(request, tuple(services.settings.trusted_proxies)))
    except LoginThrottled as throttled:
        return f"Too many failed attempts. Try again in {int(throttled.retry_after_seconds)} seconds.", 429
    except LoginFailed:
        return "Your password is not correct.", 400
    return None


# --- adding an authenticator app ---------------------------------------------------------------------
async def totp_page(request: Request) -> Response:
    return await run_in_threadpool(_totp, request, None)


async def totp_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_totp, request, form)


def _totp(request: Request, form: PageForm | None) -> Response:
    services: Services = request.app.state.services
    session = session_or_login(request, "/account/factors/totp")
    if not isinstance(session, ActiveSession):
        return session
    if services.settings.mfa == "off":
        return redirect("/account/factors")
    secrets, issuer = services.factor_secrets, services.settings.issuer
    try:
        with services.database.transaction() as db:
            enrolment = (totp.pending_secret(db, secrets, session.user_id, account_name=session.username, issuer=issuer)
                         or totp.begin(db, secrets, session.user_id, account_name=session.username, issuer=issuer))
    except totp.TotpUnavailable:
        return redirect("/account/factors")

    def show(error: str | None, status: int) -> Response:
        return render(request, "mfa_enrol.html", {
            "error": error, "secret": enrolment.secret, "qr": qr_data_uri(enrolment.uri),
            "action": "/account/factors/totp", "ask_password": True,
        }, status_code=status)

    if form is None:
        return show(None, 200)
    refused = _refused(request, services, session, form)
    if refused is not None:
        return show(*refused)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    codes = confirm_enrolment(services, session.user_id, session.username, form.value("code", totp.CODE_FIELD_LENGTH),
                              ip=ip)
    if codes is None:
        return show("That code is not right. Check the time on your device and try the newest code.", 400)
    sessions = BrowserSessions(services)
    cookie, _sid = sessions.start(
        session.user_id, amr=mfa.combined(session.amr, TOTP_AMR), ip=ip,
        user_agent=request.headers.get("user-agent"), replacing=request.cookies.get(sessions.cookie),
    )
    response = render(request, "recovery_codes.html", {"codes": codes, "continue_to": "/account/factors?done=added"})
    sessions.set_cookie(response, cookie)
    return response



