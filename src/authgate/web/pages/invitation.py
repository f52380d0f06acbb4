"""/invitation: accept an invitation by choosing a password (from the mailed link, or with its code)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.invitations import InvitationRefused, Invitations, InvitationThrottled
from authgate.errors import InvalidInput
from authgate.http.client_ip import client_ip
from authgate.http.page_form import read_page_form
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

REFUSED = "This invitation is not valid: it may have expired, been revoked, or been used already. Ask for a new one."


async def invitation_page(request: Request) -> Response:
    token = link_token(request.query_params.get("token"))
    return await run_in_threadpool(_accept, request, token, None)


async def invitation_submit(request: Request) -> Response:
    form = await read_page_form(request)
    token = form.get("token")
    return await run_in_threadpool(
        _accept, request, link_token(token), form
    )


def _accept(request: Request, token: str, form: Any) -> Response:
    services = request.app.state.services
    invitations = Invitations(services)
    with_code = not token
    fields: list[Field] = ([EMAIL, CODE] if with_code else []) + [
        new_password(services.settings.password_min_length)
    ]
    read = read_email_form(
        form, {"email": limits.EMAIL, "code": 20, "password": 1024} if with_code else {"password": 1024}
    )
    username = None if with_code else invitations.link_is_usable(token)

    def show(status: int, error: str | None = None) -> Response:
        lead = (
            "Enter the address the invitation went to, its code, and choose your password."
            if with_code
            else f"Welcome! Your username is {username}. Choose your password."
        )
        return show_form(
            request,
            title="Accept your invitation",
            action="/invitation",
            fields=fields,
            button="Create my account",
            hidden={} if with_code else {"token": token},
            lead=lead,
            values=read.values,
            errors=read.errors,
            error=error,
            status=status,
        )

    if not with_code and username is None:
        return show_notice(request, "This invitation does not work", REFUSED, status=400)
    if form is None:
        return show(200)
    refused = refused_submission(request, form, read, show)
    if refused is not None:
        return refused
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        if with_code:
            accepted = invitations.accept(
                read.values["password"], ip=ip, email=read.values["email"], code=read.values["code"]
            )
        else:
            accepted = invitations.accept(read.values["password"], ip=ip, token=token)
    except InvitationThrottled as throttled:
        response = show(
            429, f"Too many wrong codes. Try again in {throttled.retry_after_seconds} seconds."
        )
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    except InvitationRefused:
        return show(400, REFUSED)
    except InvalidInput as error:
        read.errors[error.field if error.field in read.values else "password"] = error.message
        return show(400, CORRECT_BELOW)
    return show_notice(
        request,
        "Your account is ready",
        f"Sign in as {accepted} with the password you chose.",
        [Link("/account", "Sign in")],
    )
