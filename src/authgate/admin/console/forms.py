"""Console forms are read into the admin API's own request models, so a form and the API accept the same input.

`read` turns a model's validation errors into one short message per field,
worded for a person; a domain error (`InvalidInput.field`) lands on its field.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from authgate.errors import DomainError, InvalidInput

M = TypeVar("M", bound=BaseModel)

# What a pattern means, per field, instead of the pattern itself.
HINTS = {
    "username": "Use 1–150 letters, digits and . _ @ + -, starting with a letter or digit.",
    "email": "Enter an email address such as ada@example.com.",
    "name": "Use printable characters only.",
    "roles": "Role names use letters, digits, spaces and . _ : -.",
    "identifier": "Use 1–400 characters without spaces; a URI is usual.",
    "permissions": "Permission names are 1–200 printable characters without spaces or quotes.",
    "client_id": "Use 1–200 letters, digits and . _ : -, starting with a letter or digit.",
    "client_secret": "Use at least 32 printable characters without spaces, or leave empty to generate one.",
    "redirect_uris": "One absolute URI per line, without spaces.",
    "post_logout_redirect_uris": "One absolute URI per line, without spaces.",
    "web_origins": "One origin per line, such as https://app.example.",
    "description": "Use printable characters only.",
}


def read(model: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model, or the problems per field."""
    try:
        return model.model_validate(data), {}
    except ValidationError as error:
        problems: dict[str, str] = {}
        for problem in error.errors():
            field = next((str(part) for part in problem["loc"] if isinstance(part, str)), "form")
            problems.setdefault(field, _wording(field, problem))
        return None, problems


def problem_of(error: DomainError) -> dict[str, str]:
    """A domain refusal as a form problem: on its field when it names one."""
    field = error.field if isinstance(error, InvalidInput) and error.field else "form"
    return {field: error.message}


def _wording(field: str, problem: Any) -> str:
    kind = problem.get("type", "")
    context = problem.get("ctx") or {}
    if kind == "missing":
        return "This is required."
    if kind == "string_too_short":
        minimum = context.get("min_length")
        return "This is required." if minimum == 1 else f"Use at least {minimum} characters."
    if kind == "string_too_long":
        return f"Use at most {context.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return HINTS.get(field, "This contains characters that are not allowed.")
    if kind in {"literal_error", "enum"}:
        return "Choose one of the offered values."
    return str(problem.get("msg", "This value is not acceptable."))


def optional(text: str) -> str | None:
    """An empty text field means: not given."""
    stripped = text.strip()
    return stripped or None


def lines(text: str) -> list[str]:
    """A textarea with one entry per line (or separated by spaces or commas)."""
    return [part for part in text.replace(",", " ").split() if part]


def checked(value: str) -> bool:
    return value in {"on", "true", "1", "yes"}
