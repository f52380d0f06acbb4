"""storage/limits.py: lengths and ranges as the models declare them; the text storage can hold."""

from __future__ import annotations

import pytest

from authgate.storage import limits
from authgate.storage.models import AuditEvent, Client, User


def test_lengths_and_ranges_are_the_columns() -> None:
    assert (
        User.__table__.c.username.type.length,
        User.__table__.c.email.type.length,
        Client.__table__.c.client_id.type.length,
    ) == (limits.USERNAME, limits.EMAIL, limits.CLIENT_ID)
    assert limits.AUDIT_EVENT_ID == 2**31 - 1  # PostgreSQL `integer`, whatever SQLite would take
    assert AuditEvent.__table__.c.ip.type.length == limits.IP_ADDRESS


@pytest.mark.parametrize(
    ("value", "max_length", "storable"),
    [
        ("ada", 3, True),
        ("adam", 3, False),
        ("a\x00b", None, False),  # PostgreSQL text cannot hold NUL
        ("a\ud800b", None, False),  # a lone surrogate has no UTF-8 form
        ("a\x01b\ufffd", None, True),  # storable (the edges refuse control characters themselves)
    ],
)
def test_is_storable(value: str, max_length: int | None, storable: bool) -> None:
    assert limits.is_storable(value, max_length) is storable


def test_fit_cuts_and_replaces_only_what_storage_cannot_hold() -> None:
    assert limits.fit(None, 5) is None
    assert limits.fit("abc", 5) == "abc"
    assert limits.fit("abcdefgh", 5) == "abcde"
    assert limits.fit("a\x00b\ud800c", 10) == "a\ufffdb\ufffdc"
