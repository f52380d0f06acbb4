"""Who holds which permission for an audience: users through roles, machine clients directly.

This is the question every token answers (SPEC "Access model"): the permissions
the caller holds for the requested API, narrowed by the requested scope.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from authgate.storage.models import Api, Client, Permission, client_permissions, role_permissions, user_roles


def user_permissions(session: Session, user_id: int, audience: str) -> list[str]:
    statement = (
        select(Permission.name)
        .join(Api, Api.id == Permission.api_id)
        .join(role_permissions, role_permissions.c.permission_id == Permission.id)
        .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
        .where(user_roles.c.user_id == user_id, Api.identifier == audience)
        .distinct()
    )
    return sorted(session.scalars(statement))


def client_permissions_for(session: Session, client: Client, audience: str) -> list[str]:
    statement = (
        select(Permission.name)
        .join(Api, Api.id == Permission.api_id)
        .join(client_permissions, client_permissions.c.permission_id == Permission.id)
        .where(client_permissions.c.client_pk == client.id, Api.identifier == audience)
    )
    return sorted(session.scalars(statement))


def narrow(held: Iterable[str], requested: Iterable[str] | None) -> list[str]:
    """Held ∩ requested; with no permission requested, everything held (as Auth0 does)."""
    held_list = list(held)
    if requested is None:
        return held_list
    wanted = set(requested)
    return [name for name in held_list if name in wanted]
