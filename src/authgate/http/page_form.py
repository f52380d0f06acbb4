"""The hosted pages' form reader: the one place a page's POST body becomes text.

Every page that takes a form (login, registration, consent, account,
logout, /authorize by POST, and by GET its query string) reads it here, so
one rule holds for all: a bounded body, valid UTF-8 (a browser
percent-encodes it; raw bytes must decode too), every value acceptable text
(`authgate.text`: no NUL or other control character) and no longer than the
field it fills (`PageForm.value`, with the lengths of `storage.limits`). A
form that breaks the rule is refused whole (`UnreadableForm`, a 400 page)
before any handler acts on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.requests import Request

from authgate import text

URLENCODED = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100
# A password field: longer than any policy lets through (settings.password_max_length), and a bound
# on what is hashed; the password is never stored, so no column sets this one.
PASSWORD = 1024


class UnreadableForm(Exception):
    """The form holds something no field accepts; `field` names it when one is at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PageForm:
    """The fields of a submitted form, each acceptable text."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._pairs = list(pairs)
        for name, value in self._pairs:
            if not (text.is_acceptable(name) and text.is_acceptable(value)):
                raise UnreadableForm(
                    "The request contains characters that no field accepts.", field=name
                )

    def get(self, name: str) -> str | None:
        return next((value for key, value in self._pairs if key == name), None)

    def lists(self) -> dict[str, list[str]]:
        """Every field with all its values, in the order they came."""
        fields: dict[str, list[str]] = {}
        for name, value in self._pairs:
            fields.setdefault(name, []).append(value)
        return fields

    def firsts(self) -> dict[str, str]:
        """Every field with its first value."""
        return {name: values[0] for name, values in self.lists().items()}

    def value(self, name: str, max_length: int) -> str:
        """The field's text ('' when absent); refused, not cut short, when longer than the field."""
        value = self.get(name) or ""
        if len(value) > max_length:
            raise UnreadableForm(
                f"This is too long: use at most {max_length} characters.", field=name
            )
        return value


def read_page_query(request: Request) -> PageForm:
    """The query string's parameters, read as strictly as a form body (Starlette is lenient)."""
    return _parse(request.scope.get("query_string", b""))


async def read_page_form(request: Request) -> PageForm:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != URLENCODED:
        # Multipart (or nothing): Starlette parses it; the text rule still applies to every value.
        form = await request.form(max_fields=MAX_FIELDS)
        return PageForm((key, value) for key, value in form.multi_items() if isinstance(value, str))
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise UnreadableForm("The form is too large.")
    return _parse(bytes(body))


def _parse(encoded: bytes) -> PageForm:
    try:
        pairs = parse_qsl(
            encoded.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except UnicodeDecodeError:
        raise UnreadableForm("The request is not valid UTF-8 text.") from None
    except ValueError:
        raise UnreadableForm("The request has too many fields.") from None
    return PageForm(pairs)
