"""/roles: named bundles of permissions, and the permissions they hold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.schemas import GrantSet, RoleChange, RoleCreate, RoleName
from authgate.views import RoleView

router = APIRouter(prefix="/roles", tags=["roles"], route_class=AdminRoute)
READ, WRITE = requires("roles:read"), requires("roles:write")
RoleIn = Annotated[RoleName, Path()]


@router.get("", openapi_extra=READ, summary="List roles")
def list_roles(admin: Admin) -> list[RoleView]:
    with admin.reader() as realm:
        return [RoleView.of(role) for role in realm.roles.list()]


@router.post("", openapi_extra=WRITE, status_code=201, responses=CONFLICT, summary="Create a role")
def create_role(admin: Admin, body: RoleCreate) -> RoleView:
    """422 names an API or permission that does not exist; 409 if the name is taken."""
    with admin.realm() as realm:
        return RoleView.of(realm.roles.create(body.name, body.description, body.permissions,
                                              require_mfa=body.require_mfa))


@router.get("/{name}", openapi_extra=READ, responses=NOT_FOUND, summary="Get a role")
def get_role(admin: Admin, name: RoleIn) -> RoleView:
    with admin.reader() as realm:
        return RoleView.of(realm.roles.get(name))


@router.patch("/{name}", openapi_extra=WRITE, responses=NOT_FOUND, summary="Change a role's description or MFA policy")
def change_role(admin: Admin, name: RoleIn, body: RoleChange) -> RoleView:
    with admin.realm() as realm:
        if "require_mfa" in body.model_fields_set:
            realm.roles.set_require_mfa(name, body.require_mfa)
        return RoleView.of(realm.roles.update(name, description=body.description))


@router.put("/{name}/permissions", openapi_extra=WRITE, responses=NOT_FOUND, summary="Set a role's permissions")
def set_permissions(admin: Admin, name: RoleIn, body: GrantSet) -> RoleView:
    """Replaces what the role holds; 422 names an API or permission that does not exist."""
    with admin.realm() as realm:
        realm.roles.set_permissions(name, body.permissions)
        return RoleView.of(realm.roles.get(name))


@router.delete("/{name}", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND, summary="Delete a role")
def delete_role(admin: Admin, name: RoleIn) -> None:
    """Users holding it lose it."""
    with admin.realm() as realm:
        realm.roles.delete(name)
