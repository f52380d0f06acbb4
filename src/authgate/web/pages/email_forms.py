"""What the email pages share: reading their forms, and rendering their one form template.

`read_email_form` is the one place these pages read a submitted form: each
field cut to its limit and refused when it holds control characters (a
header injection attempt in an address or name), so a bad value becomes a
form error and never reaches a message. (At merge it delegates to the
hosted pages' common form reader.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from authgate.http import csrf
from authgate.http.page_form import PageForm
from authgate.http.rendering import render

CORRECT_BELOW = "Please correct the errors below."
#: Longer than any token we issue: a longer value is cut here (it can only be refused), never stored.
TOKEN_LIMIT = 100


def link_token(value: object) -> str:
    """The token a link or a form carries ('' when none: the person enters the code instead)."""
    return value[:TOKEN_LIMIT] if isinstance(value, str) else ""


def refused_submission(
    request: Request, form: PageForm, read: FormRead, show: Callable[[int, str], Response]
) -> Response | None:
    """What every email form's POST passes before its own step: its CSRF token, then its fields."""
    try:
        csrf.check(request, form.get(csrf.FIELD), request.app.state.services.settings.issuer)
    except csrf.CsrfFailed:
        return show(403, csrf.FORM_EXPIRED)
    if read.errors:
        return show(400, CORRECT_BELOW)
    return None


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    autocomplete: str
    maxlength: int
    hint: str | None = None


@dataclass(frozen=True)
class Link:
    href: str
    text: str


EMAIL = Field("email", "Email address", "email", "email", 320)
CODE = Field(
    "code",
    "Code from the message",
    "text",
    "one-time-code",
    20,
    "Eight letters and digits, like ABCD-EF23.",
)


def new_password(min_length: int) -> Field:
    return Field(
        "password",
        "New password",
        "password",
        "new-password",
        1024,
        f"At least {min_length} characters. A long phrase is easier to remember and harder to guess.",
    )


@dataclass
class FormRead:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def read_email_form(form: PageForm | None, limits: dict[str, int]) -> FormRead:
    """Each named field as one line of text (missing: ""), with a field error when too long or broken
    over lines. `read_page_form` has already refused what no field accepts (`authgate.text`)."""
    read = FormRead()
    for name, limit in limits.items():
        value = (form.get(name) if form is not None else None) or ""
        if len(value) > limit:
            read.errors[name] = f"At most {limit} characters."
            value = value[:limit]
        elif any(ch in value for ch in "\r\n\t"):
            read.errors[name] = "Remove the line breaks."
            value = " ".join(value.split())
        read.values[name] = value if name == "password" else value.strip()
    return read


def show_form(
    request: Request,
    *,
    title: str,
    action: str,
    fields: list[Field],
    button: str,
    lead: str | None = None,
    hidden: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    links: list[Link] | None = None,
    status: int = 200,
) -> HTMLResponse:
    shown = {name: value for name, value in (values or {}).items() if name != "password"}
    return render(
        request,
        "email_form.html",
        {
            "title": title,
            "lead": lead,
            "action": action,
            "fields": fields,
            "button": button,
            "hidden": hidden or {},
            "values": shown,
            "field_errors": errors or {},
            "error": error,
            "links": links or [],
        },
        status_code=status,
    )


def show_notice(
    request: Request, title: str, message: str, links: list[Link] | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "notice.html",
        {"title": title, "message": message, "links": links or []},
        status_code=status,
    )
