"""/apis: resource servers (each an audience) and the permissions they declare.

Identifiers are usually URIs, slashes and all, so each goes in the path as
one percent-encoded segment (`/apis/https%3A%2F%2Fcoffee.example%2Fapi`, see
`segments.py`); so does a permission name. The admin API itself
(`authgate-admin`) cannot be deleted or lose permissions here: that would
lock every administrator out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path

from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.schemas import (
    ApiChange,
    ApiCreate,
    ApiIdentifier,
    PermissionCreate,
    PermissionName,
    PermissionSet,
)
from authgate.bootstrap import ADMIN_API, ADMIN_PERMISSIONS
from authgate.errors import Conflict
from authgate.views import ApiView

router = APIRouter(prefix="/apis", tags=["apis"], route_class=AdminRoute)
READ, WRITE = requires("apis:read"), requires("apis:write")
IdentifierIn = Annotated[ApiIdentifier, Path(
    description="The API identifier (audience), percent-encoded as one segment (`/` as `%2F`).",
    examples=["https%3A%2F%2Fcoffee.example%2Fapi"],
)]
PermissionIn = Annotated[PermissionName, Path(description="The permission, percent-encoded.")]


@router.get("", openapi_extra=READ, summary="List APIs")
def list_apis(admin: Admin) -> list[ApiView]:
    with admin.reader() as realm:
        return [ApiView.of(api) for api in realm.apis.list()]


@router.post("", openapi_extra=WRITE, status_code=201, responses=CONFLICT, summary="Create an API")
def create_api(admin: Admin, body: ApiCreate) -> ApiView:
    with admin.realm() as realm:
        return ApiView.of(realm.apis.create(body.identifier, body.name, body.permissions))


@router.post("/{identifier}/permissions", openapi_extra=WRITE, status_code=201, responses={**NOT_FOUND, **CONFLICT},
             summary="Add a permission to an API")
def add_permission(admin: Admin, identifier: IdentifierIn, body: PermissionCreate) -> ApiView:
    with admin.realm() as realm:
        realm.apis.add_permission(identifier, body.name, body.description)
        return ApiView.of(realm.apis.get(identifier))


@router.put("/{identifier}/permissions", openapi_extra=WRITE, responses={**NOT_FOUND, **CONFLICT},
            summary="Set an API's permissions")
def set_permissions(admin: Admin, identifier: IdentifierIn, body: PermissionSet) -> ApiView:
    """Makes the API declare exactly these; roles and clients lose the ones removed."""
    keep_admin_permissions(identifier, body.permissions)
    with admin.realm() as realm:
        realm.apis.set_permissions(identifier, body.permissions)
        return ApiView.of(realm.apis.get(identifier))


@router.delete("/{identifier}/permissions/{permission}", openapi_extra=WRITE, responses={**NOT_FOUND, **CONFLICT},
               summary="Remove a permission from an API")
def remove_permission(admin: Admin, identifier: IdentifierIn, permission: PermissionIn) -> ApiView:
    keep_admin_permissions(identifier, [], removing=[permission])
    with admin.realm() as realm:
        realm.apis.remove_permission(identifier, permission)
        return ApiView.of(realm.apis.get(identifier))


@router.get("/{identifier}", openapi_extra=READ, responses=NOT_FOUND, summary="Get an API")
def get_api(admin: Admin, identifier: IdentifierIn) -> ApiView:
    with admin.reader() as realm:
        return ApiView.of(realm.apis.get(identifier))


@router.patch("/{identifier}", openapi_extra=WRITE, responses=NOT_FOUND, summary="Rename an API")
def change_api(admin: Admin, identifier: IdentifierIn, body: ApiChange) -> ApiView:
    with admin.realm() as realm:
        return ApiView.of(realm.apis.update(identifier, name=body.name))


@router.delete("/{identifier}", openapi_extra=WRITE, status_code=204, responses={**NOT_FOUND, **CONFLICT},
               summary="Delete an API")
def delete_api(admin: Admin, identifier: IdentifierIn) -> None:
    """Its permissions go with it, from every role and client that held them."""
    keep_admin_api(identifier)
    with admin.realm() as realm:
        realm.apis.delete(identifier)


def keep_admin_api(identifier: str) -> None:
    if identifier == ADMIN_API:
        raise Conflict(f"{ADMIN_API} is the admin API itself and cannot be deleted.")


def keep_admin_permissions(identifier: str, kept: Iterable[str], *, removing: Iterable[str] | None = None) -> None:
    if identifier != ADMIN_API:
        return
    dropped = set(removing) if removing is not None else set(ADMIN_PERMISSIONS) - set(kept)
    lost = sorted(dropped & set(ADMIN_PERMISSIONS))
    if lost:
        raise Conflict(f"{ADMIN_API} must keep its permissions ({', '.join(lost)}): the admin API checks them.")
