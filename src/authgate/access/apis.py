"""APIs (resource servers, each an audience) and the permissions they declare."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from authgate import text
from authgate.errors import AlreadyExists, InvalidInput, NotFound
from authgate.storage import limits
from authgate.storage.models import (
    Api,
    Client,
    Permission,
    Role,
    client_permissions,
    role_permissions,
)

if TYPE_CHECKING:
    from authgate.services import Realm

# Permissions travel in the space-separated `scope` parameter (RFC 6749 §3.3: NQCHAR, no space).
_PERMISSION = re.compile(rf"^[\x21\x23-\x5b\x5d-\x7e]{{1,{limits.PERMISSION_NAME}}}$")
RESERVED_SCOPES = frozenset({"openid", "profile", "email", "offline_access", "address", "phone"})


def validate_permission_name(name: str) -> str:
    if not _PERMISSION.match(name):
        raise InvalidInput(f"Permission {name!r} must be 1–{limits.PERMISSION_NAME} printable "
                           "characters without spaces or quotes.", field="permissions")
    if name in RESERVED_SCOPES:
        raise InvalidInput(
            f"Permission {name!r} is an OpenID Connect scope name and cannot be used.", field="permissions"
        )
    return name


def validate_identifier(identifier: str) -> str:
    value = identifier.strip()
    storable = limits.is_storable(value, limits.API_IDENTIFIER) and text.is_acceptable(value)
    if not value or not storable or any(ch.isspace() for ch in value):
        raise InvalidInput(f"API identifier must be 1–{limits.API_IDENTIFIER} characters without "
                           "spaces (a URI is usual).", field="identifier")
    return value


@dataclass(frozen=True)
class ApiHolders:
    """Who holds an API's permissions: {role name: [permission]}, {client id: [permission]}."""

    roles: dict[str, builtins.list[str]]
    clients: dict[str, builtins.list[str]]

    def __bool__(self) -> bool:
        return bool(self.roles or self.clients)


class ApiService:
    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.session: Session = realm.session

    def find(self, identifier: str) -> Api | None:
        if not limits.is_storable(identifier, limits.API_IDENTIFIER):
            return None  # no API has it; PostgreSQL would refuse to compare it
        return self.session.scalar(
            select(Api).where(Api.identifier == identifier).options(selectinload(Api.permissions))
        )

    def get(self, identifier: str) -> Api:
        api = self.find(identifier)
        if api is None:
            raise NotFound("API", identifier)
        return api

    def list(self) -> Sequence[Api]:
        return self.session.scalars(select(Api).options(selectinload(Api.permissions)).order_by(Api.identifier)).all()

    def create(self, identifier: str, name: str | None = None, permissions: Iterable[str] = ()) -> Api:
        identifier = validate_identifier(identifier)
        if self.find(identifier) is not None:
            raise AlreadyExists("API", identifier)
        # The name defaults to the identifier, cut to what the name column holds (an identifier
        # may be longer).
        api = Api(identifier=identifier, name=_name(name) if name else identifier[:limits.API_NAME])
        self.session.add(api)
        self.session.flush()
        self.realm.changed("api.created", identifier)
        self.realm.access_changes.api()
        self.set_permissions(identifier, permissions, api=api, quiet=True)
        return api

    def update(self, identifier: str, *, name: str | None = None) -> Api:
        api = self.get(identifier)
        if name is not None:
            api.name = _name(name)
        self.realm.changed("api.updated", identifier)
        self.realm.access_changes.api()
        return api

    def add_permission(self, identifier: str, name: str, description: str | None = None) -> Permission:
        api = self.get(identifier)
        name = validate_permission_name(name)
        if any(p.name == name for p in api.permissions):
            raise AlreadyExists("permission", f"{name} on {identifier}")
        permission = Permission(name=name, description=text.checked(
            description, limits.PERMISSION_DESCRIPTION, field="description", what="Description"))
        api.permissions.append(permission)
        self.session.flush()
        self.realm.changed("permission.created", identifier, permission=name)
        self.realm.access_changes.api()
        return permission

    def remove_permission(self, identifier: str, name: str) -> None:
        api = self.get(identifier)
        permission = next((p for p in api.permissions if p.name == name), None)
        if permission is None:
            raise NotFound("permission", f"{name} on {identifier}")
        api.permissions.remove(permission)
        self.session.flush()
        self.realm.changed("permission.deleted", identifier, permission=name)
        self.realm.access_changes.api()

    def set_permissions(
        self, identifier: str, names: Iterable[str], *, api: Api | None = None, quiet: bool = False
    ) -> bool:
        """Make the API declare exactly `names`; returns whether anything changed."""
        api = api or self.get(identifier)
        wanted = [validate_permission_name(name) for name in dict.fromkeys(names)]
        have = {p.name: p for p in api.permissions}
        changed = False
        for name in wanted:
            if name not in have:
                api.permissions.append(Permission(name=name))
                changed = True
        for name, permission in have.items():
            if name not in wanted:
                api.permissions.remove(permission)
                changed = True
        if changed:
            self.session.flush()
            self.realm.access_changes.api()
            if not quiet:
                self.realm.changed("api.permissions_set", identifier, permissions=wanted)
        return changed

    def delete(self, identifier: str) -> None:
        api = self.get(identifier)
        self.session.delete(api)
        self.realm.changed("api.deleted", identifier)
        self.realm.access_changes.api()

    def holders(self, identifier: str) -> ApiHolders:
        """The roles and clients granted any of the API's permissions (deleting the API strips them)."""
        api = self.get(identifier)
        roles: dict[str, builtins.list[str]] = {}
        clients: dict[str, builtins.list[str]] = {}
        by_role = (select(Role.name, Permission.name).join(role_permissions, role_permissions.c.role_id == Role.id)
                   .join(Permission, Permission.id == role_permissions.c.permission_id)
                   .where(Permission.api_id == api.id).order_by(Role.name, Permission.name))
        for role, permission in self.session.execute(by_role):
            roles.setdefault(role, []).append(permission)
        by_client = (select(Client.client_id, Permission.name)
                     .join(client_permissions, client_permissions.c.client_pk == Client.id)
                     .join(Permission, Permission.id == client_permissions.c.permission_id)
                     .where(Permission.api_id == api.id).order_by(Client.client_id, Permission.name))
        for client, permission in self.session.execute(by_client):
            clients.setdefault(client, []).append(permission)
        return ApiHolders(roles, clients)

    def resolve(self, grants: dict[str, builtins.list[str]], *, field: str) -> builtins.list[Permission]:
        """Turn {api identifier: [permission, ...]} into Permission rows, or say which is unknown."""
        resolved: builtins.list[Permission] = []
        for identifier, names in grants.items():
            api = self.find(identifier)
            if api is None:
                raise InvalidInput(f"API {identifier} does not exist", field=field)
            by_name = {p.name: p for p in api.permissions}
            for name in names:
                if name not in by_name:
                    raise InvalidInput(f"API {identifier} has no permission {name!r}", field=field)
                resolved.append(by_name[name])
        return resolved


def grants_of(permissions: Iterable[Permission]) -> dict[str, builtins.list[str]]:
    """The inverse of `resolve`: {api identifier: sorted permission names}."""
    grouped: dict[str, builtins.list[str]] = {}
    for permission in permissions:
        grouped.setdefault(permission.api.identifier, []).append(permission.name)
    return {identifier: sorted(names) for identifier, names in sorted(grouped.items())}


def _name(name: str) -> str:
    return text.checked(name, limits.API_NAME, field="name", what="Name")
