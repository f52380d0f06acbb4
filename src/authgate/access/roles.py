"""Roles: named bundles of permissions that users hold."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from authgate import text
from authgate.errors import AlreadyExists, InvalidInput, NotFound
from authgate.storage import limits
from authgate.storage.models import Permission, Role

if TYPE_CHECKING:
    from authgate.services import Realm

_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,149}$")


class RoleService:
    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.session: Session = realm.session

    def find(self, name: str) -> Role | None:
        return self.session.scalar(
            select(Role).where(Role.name == name).options(selectinload(Role.permissions).selectinload(Permission.api))
        )

    def get(self, name: str) -> Role:
        role = self.find(name)
        if role is None:
            raise NotFound("role", name)
        return role

    def get_many(self, names: Iterable[str]) -> builtins.list[Role]:
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return []
        found = {role.name: role for role in self.session.scalars(select(Role).where(Role.name.in_(wanted)))}
        missing = [name for name in wanted if name not in found]
        if missing:
            raise NotFound("role", ", ".join(missing))
        return [found[name] for name in wanted]

    def list(self) -> Sequence[Role]:
        return self.session.scalars(
            select(Role).options(selectinload(Role.permissions).selectinload(Permission.api)).order_by(Role.name)
        ).all()

    def create(
        self,
        name: str,
        description: str | None = None,
        permissions: dict[str, builtins.list[str]] | None = None,
        *,
        require_mfa: bool | None = None,
    ) -> Role:
        if not _ROLE.match(name):
            raise InvalidInput("Role name must be 1–150 letters, digits, spaces or . _ : -", field="name")
        if self.find(name) is not None:
            raise AlreadyExists("role", name)
        role = Role(name=name, description=_description(description), require_mfa=require_mfa)
        role.permissions = self.realm.apis.resolve(permissions or {}, field="permissions")
        self.session.add(role)
        self.session.flush()
        self.realm.changed("role.created", name)
        return role

    def update(self, name: str, *, description: str | None = None) -> Role:
        role = self.get(name)
        if description is not None:
            role.description = _description(description)
        self.realm.changed("role.updated", name)
        return role

    def set_require_mfa(self, name: str, require_mfa: bool | None) -> bool:
        """Whether holders must sign in with a second factor; None: the default (accounts/mfa.py). True if changed."""
        role = self.get(name)
        if role.require_mfa is require_mfa:
            return False
        role.require_mfa = require_mfa
        self.realm.changed("role.require_mfa_set", name, require_mfa=require_mfa)
        return True

    def set_permissions(self, name: str, permissions: dict[str, builtins.list[str]]) -> bool:
        role = self.get(name)
        wanted = self.realm.apis.resolve(permissions, field="permissions")
        if {p.id for p in wanted} == {p.id for p in role.permissions}:
            return False
        role.permissions = wanted
        self.realm.changed("role.permissions_set", name)
        return True

    def grant(self, name: str, permissions: dict[str, builtins.list[str]]) -> Role:
        role = self.get(name)
        have = {p.id for p in role.permissions}
        wanted = self.realm.apis.resolve(permissions, field="permissions")
        role.permissions.extend(p for p in wanted if p.id not in have)
        self.realm.changed("role.permissions_granted", name)
        return role

    def revoke(self, name: str, permissions: dict[str, builtins.list[str]]) -> Role:
        role = self.get(name)
        drop = {p.id for p in self.realm.apis.resolve(permissions, field="permissions")}
        role.permissions = [p for p in role.permissions if p.id not in drop]
        self.realm.changed("role.permissions_revoked", name)
        return role

    def delete(self, name: str) -> None:
        role = self.get(name)
        self.session.delete(role)
        self.realm.changed("role.deleted", name)


def _description(description: str | None) -> str | None:
    return text.checked(description, limits.ROLE_DESCRIPTION, field="description", what="Description")
