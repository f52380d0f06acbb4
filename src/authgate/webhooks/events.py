"""The events a webhook can subscribe to: a fixed vocabulary, each derived from an audit event.

An event exists only where the audit log records one, so a webhook sees
exactly what the audit log sees, written in the same transaction. Admin
changes are one audit type (`admin.change`) whose `change` detail names
what changed (`user.created`, `client.deleted`…); the other audit types are
events under their own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authgate import audit

# Event name → what it means (shown by the console and the docs).
CATALOGUE: dict[str, str] = {
    "user.created": "A user was created (admin API, console, CLI, apply, registration).",
    "user.updated": "A user's profile, email or enabled state changed.",
    "user.disabled": "A user was disabled.",
    "user.deleted": "A user was deleted.",
    "user.roles_changed": "A user's roles were set, added or removed.",
    "password.changed": "A password was changed, by the person or set by an admin.",
    "login.succeeded": "Someone signed in.",
    "login.failed": "A sign-in failed (wrong password, unknown user, locked).",
    "account.locked": "An account was locked after repeated failures.",
    "token.revoked": "A token was revoked (RFC 7009).",
    "refresh_token.reused": "A rotated refresh token was presented again; its family was revoked.",
    "client.created": "An OAuth client was created.",
    "client.updated": "An OAuth client changed.",
    "client.secret_rotated": "A confidential client's secret was rotated.",
    "client.deleted": "An OAuth client was deleted.",
    "role.created": "A role was created.",
    "role.updated": "A role's description or permissions changed.",
    "role.deleted": "A role was deleted.",
    "api.created": "An API was created.",
    "api.updated": "An API's name or permissions changed.",
    "api.deleted": "An API was deleted.",
}

# Audit types that are events under their own name.
_OWN_NAME = frozenset({audit.LOGIN_SUCCEEDED, audit.LOGIN_FAILED, audit.ACCOUNT_LOCKED, audit.TOKEN_REVOKED,
                       audit.REFRESH_REUSED, audit.PASSWORD_CHANGED})
# Admin changes (`Realm.changed`) whose name differs from their event's.
_RENAMED_CHANGES = {
    "user.password_set": "password.changed",
    "user.roles_set": "user.roles_changed",
    "user.roles_added": "user.roles_changed",
    "user.roles_removed": "user.roles_changed",
    "role.permissions_set": "role.updated",
    "role.permissions_granted": "role.updated",
    "role.permissions_revoked": "role.updated",
    "api.permissions_set": "api.updated",
    "permission.created": "api.updated",
    "permission.deleted": "api.updated",
}


def event_name(audit_type: str, detail: Mapping[str, Any]) -> str | None:
    """The webhook event an audit event is, or None when it is none (not every audit event is one)."""
    if audit_type in _OWN_NAME:
        return audit_type
    if audit_type != audit.ADMIN_CHANGE:
        return None
    change = detail.get("change")
    if not isinstance(change, str):
        return None
    name = _RENAMED_CHANGES.get(change, change)
    return name if name in CATALOGUE else None
