"""What storage can hold: column lengths and integer ranges read from the models, and which text.

The one source of truth for the edges (the OAuth form parser, the hosted
pages' form reader, the admin API's schemas, the caller's address): they
check input against these before it reaches a query, so a value is refused
(or is simply unknown) the same way on SQLite, which stores anything, and on
PostgreSQL, which refuses what does not fit.

Text storage can hold: valid Unicode without NUL (PostgreSQL's text types
cannot contain U+0000, and a lone surrogate has no UTF-8 encoding), no
longer than the column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, String

from authgate.storage.models import (
    Api,
    AuditEvent,
    BrowserSession,
    Client,
    ConsoleSession,
    OutboxMessage,
    Passkey,
    Permission,
    Role,
    User,
    Webhook,
)


def length_of(column: Any) -> int:
    """The declared length of a String column (a mapped attribute such as `User.username`)."""
    kind = column.property.columns[0].type
    assert isinstance(kind, String) and kind.length is not None, f"{column} has no declared length"
    return int(kind.length)


def largest_of(column: Any) -> int:
    """The largest value an integer column holds on every database (PostgreSQL integer: 32 bits)."""
    kind = column.property.columns[0].type
    if isinstance(kind, SmallInteger):
        return 2**15 - 1
    if isinstance(kind, BigInteger):
        return 2**63 - 1
    assert isinstance(kind, Integer), f"{column} is not an integer column"
    return 2**31 - 1


USERNAME = length_of(User.username)
USER_SUBJECT = length_of(User.subject)
EMAIL = length_of(User.email)
DISPLAY_NAME = length_of(User.name)
CLIENT_ID = length_of(Client.client_id)
CLIENT_NAME = length_of(Client.name)
API_IDENTIFIER = length_of(Api.identifier)
API_NAME = length_of(Api.name)
PERMISSION_NAME = length_of(Permission.name)
PERMISSION_DESCRIPTION = length_of(Permission.description)
ROLE_NAME = length_of(Role.name)
ROLE_DESCRIPTION = length_of(Role.description)
DESCRIPTION = min(ROLE_DESCRIPTION, PERMISSION_DESCRIPTION)  # one schema type describes both
IP_ADDRESS = min(length_of(AuditEvent.ip), length_of(BrowserSession.ip))
SESSION_ID = length_of(BrowserSession.sid)
AUDIT_TYPE = length_of(AuditEvent.type)
AUDIT_ACTOR = length_of(AuditEvent.actor)
AUDIT_SUBJECT = length_of(AuditEvent.subject)
AUDIT_CLIENT_ID = length_of(AuditEvent.client_id)
CONSOLE_RETURN_TO = length_of(ConsoleSession.return_to)
AUDIT_EVENT_ID = largest_of(AuditEvent.id)
OUTBOX_MESSAGE_ID = largest_of(OutboxMessage.id)
PASSKEY_ID = largest_of(Passkey.id)


def is_storable(value: str, max_length: int | None = None) -> bool:
    """Whether a text column can hold `value` (when given, one `max_length` characters long)."""
    if max_length is not None and len(value) > max_length:
        return False
    if "\x00" in value:
        return False  # PostgreSQL: text cannot contain NUL
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def fit(value: str | None, max_length: int) -> str | None:
    """`value` made storable, for a record that must be written whatever came in (the audit log):
    cut to `max_length`, NUL and lone surrogates replaced by U+FFFD."""
    if value is None or (len(value) <= max_length and is_storable(value)):
        return value
    return "".join(
        "\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in value[:max_length]
    )
WEBHOOK_ID = length_of(Webhook.public_id)
WEBHOOK_URL = length_of(Webhook.url)
WEBHOOK_DESCRIPTION = length_of(Webhook.description)
