"""“Forgot your password?”: /password/forgot asks for an address, /password/reset sets the new password.

/password/forgot answers every well-formed address with the same page (no
enumeration; see accounts/password_reset.py for the matching work).
/password/reset?token=… opens a form (a GET changes nothing: mail scanners
fetch links); its POST, with the CSRF token, uses the link. Without a
token the form asks for the address and the code from the message.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.password_reset import PasswordReset, ResetRefused, ResetThrottled
from authgate.errors import InvalidInput
from authgate.http.client_ip import client_ip
from authgate.http.page_form import read_page_form
from authgate.http.rendering import redirect
from authgate.storage import limits
from authgate.web.pages.email_forms import (
    CODE,
    CORRECT_BELOW,
    EMAIL,
    Field,
    Link,
    link_token,
    new_password,
    read_email_form,
    refused_submission,
    show_form,
    show_notice,
)

CHECK_EMAIL = (
    "If an account has this address, we sent it a message with a link and a code to reset "
    "the password. It can take a few minutes to arrive; check your spam folder too."
)
REFUSED = (
    "This link or code is not valid: it may have expired or been used already. Ask for a new one."
)


async def forgot_page(request: Request) -> Response:
    return await run_in_threadpool(_forgot, request, None)


async def forgot_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_forgot, request, form)


def _forgot(request: Request, form: Any) -> Response:
    services = request.app.state.services
    read = read_email_form(form, {"email": limits.EMAIL})

    def show(status: int, error: str | None = None) -> Response:
        return show_form(
            request,
            title="Forgot your password?",
            action="/password/forgot",
            fields=[EMAIL],
            button="Send me a reset link",
            values=read.values,
            errors=read.errors,
            error=error,
            lead="Enter the email address of your account. We will send it a link to choose a new password.",
            links=[Link("/password/reset", "I have a code"), Link("/login", "Back to sign in")],
            status=status,
        )

    if form is None:
        return show(200)
    refused = refused_submission(request, form, read, show)
    if refused is not None:
        return refused
    try:
        PasswordReset(services).request(
            read.values["email"], ip=client_ip(request, tuple(services.settings.trusted_proxies))
        )
    except InvalidInput as error:
        read.errors["email"] = error.message
        return show(400, CORRECT_BELOW)
    return show_notice(
        request,
        "Check your email",
        CHECK_EMAIL,
        [
            Link("/password/reset", "Enter the code from the message"),
            Link("/login", "Back to sign in"),
        ],
    )


async def reset_page(request: Request) -> Response:
    token = link_token(request.query_params.get("token"))
    return await run_in_threadpool(_reset, request, token, None)


async def reset_submit(request: Request) -> Response:
    form = await read_page_form(request)
    token = form.get("token")
    return await run_in_threadpool(
        _reset, request, link_token(token), form
    )


def _reset(request: Request, token: str, form: Any) -> Response:
    services = request.app.state.services
    reset = PasswordReset(services)
    with_code = not token
    fields: list[Field] = ([EMAIL, CODE] if with_code else []) + [
        new_password(services.settings.password_min_length)
    ]
    read = read_email_form(
        form, {"email": limits.EMAIL, "code": 20, "password": 1024} if with_code else {"password": 1024}
    )

    def show(status: int, error: str | None = None) -> Response:
        return show_form(
            request,
            title="Reset your password",
            action="/password/reset",
            fields=fields,
            button="Set the new password",
            hidden={} if with_code else {"token": token},
            lead=(
                "Enter the address the message went to, its code, and your new password."
                if with_code
                else "Choose a new password for your account."
            ),
            values=read.values,
            errors=read.errors,
            error=error,
            links=[Link("/password/forgot", "Send me a new link")],
            status=status,
        )

    if form is None:
        if not with_code and not reset.link_is_usable(token):
            return show_notice(
                request,
                "This link does not work",
                REFUSED,
                [Link("/password/forgot", "Send me a new link")],
                status=400,
            )
        return show(200)
    refused = refused_submission(request, form, read, show)
    if refused is not None:
        return refused
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        if with_code:
            reset.complete(
                read.values["password"], email=read.values["email"], code=read.values["code"], ip=ip
            )
        else:
            reset.complete(read.values["password"], token=token, ip=ip)
    except ResetThrottled as throttled:
        response = show(
            429, f"Too many wrong codes. Try again in {throttled.retry_after_seconds} seconds."
        )
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    except ResetRefused:
        return show(400, REFUSED)
    except InvalidInput as error:
        read.errors[error.field if error.field in read.values else "password"] = error.message
        return show(400, CORRECT_BELOW)
    return redirect("/password/reset/done")


async def reset_done(request: Request) -> Response:
    return show_notice(
        request,
        "Password changed",
        "Your password was changed, and you were signed out everywhere. Sign in with the new password.",
        [Link("/account", "Sign in")],
    )
