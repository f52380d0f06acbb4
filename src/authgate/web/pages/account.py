"""The signed-in person's own pages: the account overview, password change, connected applications.

Each needs a live browser session (otherwise: to the login page and back).
The password change checks the current password through `PasswordLogin`
(so guessing it is throttled like any login, though a right one is not logged
as a login), enforces the password policy, ends the person's other sessions,
and is audited as one `password.changed`.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.login import LoginFailed, LoginThrottled, PasswordLogin
from authgate.errors import InvalidInput
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PASSWORD, PageForm, read_page_form
from authgate.http.rendering import redirect, render
from authgate.http.sessions import ActiveSession, BrowserSessions
from authgate.oidc import consents
from authgate.storage import limits
from authgate.web.pages.signed_in import session_or_login


async def account_page(request: Request) -> Response:
    def show() -> Response:
        session = session_or_login(request, "/account")
        if not isinstance(session, ActiveSession):
            return session
        notice = "Your password was changed." if request.query_params.get("changed") == "password" else None
        return render(request, "account.html", {"username": session.username, "notice": notice})

    return await run_in_threadpool(show)


async def password_page(request: Request) -> Response:
    return await run_in_threadpool(_password, request, None)


async def password_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_password, request, form)


def _password(request: Request, form: PageForm | None) -> Response:
    services = request.app.state.services
    session = session_or_login(request, "/account/password")
    if not isinstance(session, ActiveSession):
        return session

    def show(errors: dict[str, str], status: int, error: str | None = None) -> Response:
        return render(request, "password.html", {
            "username": session.username, "field_errors": errors, "error": error,
            "focus": "new_password" if "new_password" in errors else "current_password",
            "min_length": services.settings.password_min_length,
        }, status_code=status)

    if form is None:
        return show({}, 200)
    try:
        csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
    except csrf.CsrfFailed:
        return show({}, 403, csrf.FORM_EXPIRED)
    current, new = form.value("current_password", PASSWORD), form.value("new_password", PASSWORD)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        PasswordLogin(services).reconfirm(session.username, current, ip=ip)
    except LoginThrottled as throttled:
        wait = int(throttled.retry_after_seconds)
        return show({"current_password": f"Too many failed attempts. Try again in {wait} seconds."}, 429)
    except LoginFailed:
        return show({"current_password": "The current password is incorrect."}, 400, "Please correct the errors below.")
    try:
        with services.realm(actor=session.username) as realm:
            realm.users.change_own_password(session.username, new, ip=ip)
    except InvalidInput as error:
        return show({"new_password": error.message}, 400, "Please correct the errors below.")
    sessions = BrowserSessions(services)
    sessions.end_others(session.user_id, keep_sid=None)
    value, _sid = sessions.start(session.user_id, amr=session.amr, ip=ip, user_agent=request.headers.get("user-agent"))
    response = redirect("/account?changed=password")
    sessions.set_cookie(response, value)
    return response


async def consents_page(request: Request) -> Response:
    def show() -> Response:
        session = session_or_login(request, "/account/consents")
        if not isinstance(session, ActiveSession):
            return session
        notice = "Access revoked." if request.query_params.get("revoked") else None
        return render(request, "consents.html", {
            "consents": consents.list_for(request.app.state.services, session.user_id), "notice": notice,
        })

    return await run_in_threadpool(show)


async def consent_revoke(request: Request) -> Response:
    form = await read_page_form(request)

    def revoke() -> Response:
        services = request.app.state.services
        session = session_or_login(request, "/account/consents")
        if not isinstance(session, ActiveSession):
            return session
        try:
            csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
        except csrf.CsrfFailed:
            return render(request, "consents.html", {
                "consents": consents.list_for(services, session.user_id), "error": csrf.FORM_EXPIRED,
            }, status_code=403)
        consents.revoke(services, session.user_id, form.value("client_id", limits.CLIENT_ID),
                        ip=client_ip(request, tuple(services.settings.trusted_proxies)))
        return redirect("/account/consents?revoked=1")

    return await run_in_threadpool(revoke)
