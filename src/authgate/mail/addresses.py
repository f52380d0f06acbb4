"""Email address syntax: one check, shared by every form and the admin's inputs.

`email-validator` checks the syntax (RFC 5321/5322, internationalised
addresses per RFC 6531) and refuses anything that could smuggle a header
(CR, LF, NUL and other control characters); no DNS lookups, so a request
never waits on a resolver.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from authgate.errors import InvalidInput

MAX_LENGTH = 320  # RFC 3696 errata 1690: 64 + 1 + 255


def checked_address(raw: str, *, field: str = "email") -> str:
    """The address in normal form (domain lower-cased, IDNA), or `InvalidInput` saying what is wrong."""
    value = raw.strip()
    if not value or len(value) > MAX_LENGTH:
        raise InvalidInput("Enter a valid email address.", field=field)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"Enter a valid email address ({error}).", field=field) from None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def is_valid(raw: str) -> bool:
    try:
        checked_address(raw)
    except InvalidInput:
        return False
    return True
