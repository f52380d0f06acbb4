"""Who holds which permission for an audience: users through roles, machine clients directly.

This is the question every token answers (SPEC "Access model"): the permissions
the caller holds for the requested API, narrowed by the requested scope.

`held_by_user` is that question as one SQL query; `user_permissions` asks it
alone, and the refresh token store folds it into its rotation statement (one
round trip per refresh on PostgreSQL). Narrowing by the requested scope is
`narrow`'s, in Python only. The statements are built once:
SQLAlchemy reuses their compiled form and psycopg prepares their text. They
run on the session's connection, without the ORM's autoflush: nothing a
caller has pending changes what a user holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from authgate.storage.models import (
    Api,
    Permission,
    User,
    role_permissions,
    user_roles,
)


@dataclass(frozen=True)
class Holder:
    """A user as they stand now: whether they may still get tokens, and what their roles hold for one audience."""

    user_id: int
    username: str
    subject: str  # the `sub` of the user's tokens
    disabled: bool
    permissions: tuple[str, ...]  # sorted


def held_by_user(user_id: ColumnElement[Any], audience: ColumnElement[Any]) -> Select[str]:
    """Names of the permissions the user's roles hold for the audience (bound values or correlated columns)."""
    return (
        select(Permission.name)
        .join(Api, Api.id == Permission.api_id)
        .join(role_permissions, role_permissions.c.permission_id == Permission.id)
        .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
        .where(user_roles.c.user_id == user_id, Api.identifier == audience)
        .distinct()
    )


_USER_PERMISSIONS = held_by_user(bindparam("user_id"), bindparam("audience"))
_USER_STANDING = select(User.username, User.subject, User.disabled).where(
    User.id == bindparam("user_id"))


def user_permissions(session: Session, user_id: int, audience: str) -> list[str]:
    connection = session.connection()
    return sorted(connection.scalars(_USER_PERMISSIONS, {"user_id": user_id, "audience": audience}))


def holder(session: Session, user_id: int, audience: str | None) -> Holder | None:
    """The user's standing now, or None if the user is gone."""
    found = session.connection().execute(_USER_STANDING, {"user_id": user_id}).first()
    if found is None:
        return None
    permissions = user_permissions(session, user_id, audience) if audience else []
    return Holder(user_id, found.username, found.subject, bool(found.disabled), tuple(permissions))


def narrow(held: Iterable[str], requested: Iterable[str] | None) -> list[str]:
    """Held ∩ requested; with no permission requested, everything held (as Auth0 does)."""
    held_list = list(held)
    if requested is None:
        return held_list
    wanted = set(requested)
    return [name for name in held_list if name in wanted]
