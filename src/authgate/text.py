"""Text the edges accept from people and programs: no control character, nothing without UTF-8.

Tab, CR and LF aside (JSON values and text areas hold them), a control
character is part of no name, URI, token or password anyone types; NUL among
them cannot even be stored (PostgreSQL's text types refuse it). A lone
surrogate (half of a CESU-8 pair, percent-decoded leniently) has no UTF-8
form to store. The OAuth form parser and the hosted pages' form reader both
apply this rule to every value they read; the domain applies it (`checked`)
to the free text it stores, whoever sends it (admin API, console, CLI, realm
files).
"""

from __future__ import annotations

import re
from typing import overload

from authgate.errors import InvalidInput

UNACCEPTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def is_acceptable(value: str) -> bool:
    return UNACCEPTABLE.search(value) is None


def shown(value: str, max_length: int = 40) -> str:
    """`value` safe to quote in an error message or a log: `?` for what is refused, cut short."""
    return UNACCEPTABLE.sub("?", value[:max_length])


@overload
def checked(value: str, max_length: int, *, field: str, what: str) -> str: ...
@overload
def checked(value: None, max_length: int, *, field: str, what: str) -> None: ...
def checked(value: str | None, max_length: int, *, field: str, what: str) -> str | None:
    """`value` when it is acceptable text of at most `max_length` characters, else InvalidInput."""
    if value is None:
        return None
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters.", field=field)
    if not is_acceptable(value):
        raise InvalidInput(f"{what} contains characters that are not allowed.", field=field)
    return value
