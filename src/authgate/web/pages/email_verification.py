"""/email/verify: confirm an address from the mailed link (a button: a GET changes nothing) or with its code.

/account/email: the signed-in person's address, a change of it (confirmed
from the new address), and "send the link again".
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.email_verification import (
    EmailVerification,
    VerificationRefused,
    VerificationThrottled,
)
from authgate.errors import InvalidInput
from authgate.http.client_ip import client_ip
from authgate.http.page_form import read_page_form
from authgate.http.rendering import redirect
from authgate.http.sessions import BrowserSessions
from authgate.storage import limits
from authgate.web.pages import navigation
from authgate.web.pages.email_forms import (
    CODE,
    CORRECT_BELOW,
    EMAIL,
    Field,
    Link,
    link_token,
    read_email_form,
    refused_submission,
    show_form,
    show_notice,
)

REFUSED = "This link or code is not valid: it may have expired or been used already."


async def verify_page(request: Request) -> Response:
    token = link_token(request.query_params.get("token"))
    return await run_in_threadpool(_verify, request, token, None)


async def verify_submit(request: Request) -> Response:
    form = await read_page_form(request)
    token = form.get("token")
    return await run_in_threadpool(
        _verify, request, link_token(token), form
    )


def _verify(request: Request, token: str, form: Any) -> Response:
    services = request.app.state.services
    verification = EmailVerification(services)
    with_code = not token
    fields: list[Field] = [EMAIL, CODE] if with_code else []
    read = read_email_form(form, {"email": limits.EMAIL, "code": 20} if with_code else {})

    def show(status: int, error: str | None = None) -> Response:
        return show_form(
            request,
            title="Confirm your email address",
            action="/email/verify",
            fields=fields,
            button="Confirm",
            hidden={} if with_code else {"token": token},
            lead=(
                "Enter the address the message went to and its code."
                if with_code
                else "Press Confirm to confirm your email address."
            ),
            values=read.values,
            errors=read.errors,
            error=error,
            status=status,
        )

    if form is None:
        if not with_code and not verification.link_is_usable(token):
            return show_notice(
                request,
                "This link does not work",
                REFUSED,
                [Link("/account/email", "Your email address")],
                status=400,
            )
        return show(200)
    refused = refused_submission(request, form, read, show)
    if refused is not None:
        return refused
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        if with_code:
            done = verification.confirm(ip=ip, email=read.values["email"], code=read.values["code"])
        else:
            done = verification.confirm(ip=ip, token=token)
    except VerificationThrottled as throttled:
        response = show(
            429, f"Too many wrong codes. Try again in {throttled.retry_after_seconds} seconds."
        )
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    except VerificationRefused:
        return show(400, REFUSED)
    except InvalidInput as error:
        read.errors["email"] = error.message
        return show(400, CORRECT_BELOW)
    return show_notice(
        request,
        "Email address confirmed",
        f"{done.email} is now confirmed for your account.",
        [Link("/account", "Your account")],
    )


async def account_email_page(request: Request) -> Response:
    return await run_in_threadpool(_account_email, request, None)


async def account_email_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_account_email, request, form)


def _account_email(request: Request, form: Any) -> Response:
    services = request.app.state.services
    session = BrowserSessions(services).current(request)
    if session is None:
        return redirect(navigation.with_return_to("/login", "/account/email"))
    with services.reader() as realm:
        user = realm.users.get_by_id(session.user_id)
        current, verified = user.email, user.email_verified
    read = read_email_form(form, {"email": limits.EMAIL})
    state = (
        "none yet"
        if current is None
        else f"{current} ({'confirmed' if verified else 'not confirmed yet'})"
    )

    def show(status: int, error: str | None = None, notice: str | None = None) -> Response:
        response = show_form(
            request,
            title="Your email address",
            action="/account/email",
            fields=[EMAIL],
            button="Send a confirmation link",
            lead=f"Your address: {state}. Enter a new one, or the "
            "same one to get a new confirmation link.",
            values=read.values or {"email": current or ""},
            errors=read.errors,
            error=error,
            links=[Link("/account", "Back to your account")],
            status=status,
        )
        return (
            response
            if notice is None
            else show_notice(
                request, "Check your email", notice, [Link("/account", "Back to your account")]
            )
        )

    if form is None:
        return show(200)
    refused = refused_submission(request, form, read, show)
    if refused is not None:
        return refused
    try:
        with services.realm(actor=session.username) as realm:
            new = EmailVerification(services).request_change(
                realm.session,
                realm.users.get_by_id(session.user_id),
                read.values["email"],
                actor=session.username,
            )
    except InvalidInput as error:
        read.errors["email"] = error.message
        return show(400, CORRECT_BELOW)
    services.outbox.wake()
    return show(
        200,
        notice=f"We sent a confirmation link to {new}. Your address changes when you confirm it.",
    )
