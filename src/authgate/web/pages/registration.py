"""Self-registration (`settings.registration_enabled`, off by default: the page is then a 404).

The new account gets no role; the password policy applies and its message
is shown beside the field it concerns. A success logs the person in and
resumes what they came for.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import audit
from authgate.accounts.email_verification import EmailVerification
from authgate.errors import AlreadyExists, InvalidInput
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PASSWORD, PageForm, UnreadableForm, read_page_form
from authgate.http.rendering import not_found, redirect, render
from authgate.http.sessions import BrowserSessions
from authgate.storage import limits
from authgate.web.pages import navigation


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    autocomplete: str
    required: bool
    maxlength: int
    hint: str | None = None


def fields(min_length: int) -> list[Field]:
    return [
        Field("username", "Username", "text", "username", True, limits.USERNAME,
              "Letters, digits and . _ @ + -"),
        Field("email", "Email", "email", "email", False, limits.EMAIL),
        Field("name", "Full name", "text", "name", False, limits.DISPLAY_NAME),
        Field("password", "Password", "password", "new-password", True, PASSWORD,
              f"At least {min_length} characters. A long phrase is easier to remember and harder to guess."),
    ]


async def register_page(request: Request) -> Response:
    return await run_in_threadpool(_register, request, None)


async def register_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_register, request, form)


def _register(request: Request, form: PageForm | None) -> Response:
    services = request.app.state.services
    if not services.settings.registration_enabled:
        return not_found(request)
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    if form is None:
        raw = request.query_params.get("return_to")
    else:
        raw = form.value("return_to", navigation.MAX_LENGTH)
        values, problems = _read_fields(form, fields(services.settings.password_min_length))
    return_to = navigation.safe_return_to(raw)

    def show(errors: dict[str, str], status: int, error: str | None = None) -> Response:
        return render(request, "register.html", {
            "fields": fields(services.settings.password_min_length), "values": values, "field_errors": errors,
            "error": error, "return_to": return_to, "focus": next(iter(errors), "username"),
            "login_query": navigation.with_return_to("", return_to).lstrip("?"),
        }, status_code=status)

    if form is None:
        return show({}, 200)
    try:
        csrf.check(request, form.get(csrf.FIELD), services.settings.issuer)
    except csrf.CsrfFailed:
        return show({}, 403, csrf.FORM_EXPIRED)
    if problems:
        return show(problems, 400, "Please correct the errors below.")
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    try:
        with services.realm(actor="self-registration") as realm:
            user = realm.users.create(values["username"], password=values["password"],
                                      email=values["email"] or None, name=values["name"] or None)
            audit.record(realm.session, "user.registered", subject=user.username, ip=ip)
            if user.email is not None:
                EmailVerification(services).send(realm.session, user, actor=user.username)
            user_id = user.id
    except AlreadyExists:
        return show({"username": "That username is taken; choose another."}, 400, "Please correct the errors below.")
    except InvalidInput as error:
        return show({error.field or "username": error.message}, 400, "Please correct the errors below.")
    services.outbox.wake()
    sessions = BrowserSessions(services)
    value, _sid = sessions.start(user_id, amr=("pwd",), ip=ip, user_agent=request.headers.get("user-agent"),
                                 replacing=request.cookies.get(sessions.cookie))
    response = redirect(return_to)
    sessions.set_cookie(response, value)
    return response


def _read_fields(form: PageForm, wanted: list[Field]) -> tuple[dict[str, str], dict[str, str]]:
    """Each field's text (stripped, but the password), and a problem per field that is too long."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for field in wanted:
        try:
            value = form.value(field.name, field.maxlength)
        except UnreadableForm as error:
            value, problems[field.name] = "", error.message
        values[field.name] = value if field.type == "password" else value.strip()
    return values, problems
