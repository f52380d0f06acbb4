"""Subjects (`sub`): whom a token speaks for, a user or a machine client, never one taken for the other.

A user's subject is stable and unguessable: a random UUID4 given when the user is created (the
users table's default, so no way of creating a user can forget it). Users created before
migration 0003 keep the `str(id)` their tokens carried then. A subject is never reassigned.

A machine client acting for itself (client credentials) carries its client_id as `sub`
(RFC 9068 §2.2). RFC 9068 §5: the server should keep that from ever equalling a user's `sub`, or a
resource server keyed on `sub` would take the client for the user. Here the two never meet, by
construction rather than by a lookup:

- user subjects have one of two shapes: all digits or a UUID (`has_user_subject_shape`);
- no client may be created with a client_id of either shape (`ClientService.create` refuses it);
- a client created before that rule with such an id carries `client/<client_id>`: "/" is in no
  client_id (access/clients.py) and in no user subject.
"""

from __future__ import annotations

import string
import uuid

LEGACY_CLIENT_PREFIX = "client/"


def new_user_subject() -> str:
    """122 random bits: unguessable, and says nothing about how many users there are."""
    return str(uuid.uuid4())


def has_user_subject_shape(value: str) -> bool:
    """All digits (a legacy subject, or a number a resource server might read as one), or anything
    Python's `uuid.UUID` or PostgreSQL's uuid type would read as a UUID (any case, hyphens anywhere,
    braces, a `urn:uuid:` prefix)."""
    if value.isdigit():
        return True
    hex_digits = value.lower().removeprefix("urn:uuid:").strip("{}").replace("-", "")
    return len(hex_digits) == 32 and all(character in string.hexdigits for character in hex_digits)


def client_subject(client_id: str) -> str:
    """The `sub` of a token a client gets for itself: its client_id, unless shaped like a user's."""
    return LEGACY_CLIENT_PREFIX + client_id if has_user_subject_shape(client_id) else client_id
