"""/users: search and page through users, create, change, disable, set passwords and roles, delete."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Path, Query

from authgate.accounts import factor_admin
from authgate.accounts.email_verification import EmailVerification
from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.pagination import LAST_PAGE, users_page
from authgate.admin.schemas import (
    DECIMAL,
    PRINTABLE,
    Page,
    PasswordSet,
    RoleList,
    RoleName,
    UserChange,
    UserCreate,
    Username,
)
from authgate.errors import InvalidInput
from authgate.storage import limits
from authgate.views import FactorView, UserView

router = APIRouter(prefix="/users", tags=["users"], route_class=AdminRoute)
READ, WRITE = requires("users:read"), requires("users:write")
UsernameIn = Annotated[Username, Path(description="Compared case-insensitively.")]
PageNumber = Annotated[int, Ge(1), Le(LAST_PAGE), DECIMAL]
Limit = Annotated[int, Ge(1), Le(200), DECIMAL]
FactorKind = Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$", description="totp, recovery_codes, passkey")]
FactorId = Annotated[str, Path(max_length=400, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("", openapi_extra=READ, summary="Search and page through users")
def list_users(
    admin: Admin,
    search: Annotated[str | None, Query(max_length=limits.EMAIL, pattern=PRINTABLE,
                                        description="Username or email prefix.")] = None,
    after: Annotated[str | None, Query(
        max_length=limits.USERNAME, pattern=PRINTABLE,
        description="Cursor: the last username of the previous page.")] = None,
    page: Annotated[PageNumber | None, Query(
        description="Page number instead of a cursor (seeks through the index).")] = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[UserView]:
    """Ordered by username. Follow `next_cursor` with `after` (keyset), or ask for a `page` number."""
    if page is not None and after is not None:
        raise InvalidInput("Give either after or page, not both.", field="page")
    with admin.reader() as realm:
        if page is not None:
            users = users_page(realm, admin.services.user_page_anchors, page, size=limit, prefix=search)
        else:
            users = realm.users.list(prefix=search, after=after, limit=limit)
        items = [UserView.of(user) for user in users]
    return Page[UserView](items=items, next_cursor=items[-1].username if len(items) == limit else None)


@router.post("", openapi_extra=WRITE, status_code=201, responses={**NOT_FOUND, **CONFLICT}, summary="Create a user")
def create_user(admin: Admin, body: UserCreate) -> UserView:
    """404 names a role that does not exist; 409 if the username is taken."""
    with admin.realm() as realm:
        user = realm.users.create(
            body.username, password=body.password, email=body.email, name=body.name, roles=body.roles,
            disabled=body.disabled, email_verified=body.email_verified,
        )
        if user.email is not None and not user.email_verified:
            EmailVerification(admin.services).send(realm.session, user, actor=admin.actor)
        view = UserView.of(user)
    admin.services.outbox.wake()
    return view


@router.get("/{username}", openapi_extra=READ, responses=NOT_FOUND, summary="Get a user")
def get_user(admin: Admin, username: UsernameIn) -> UserView:
    with admin.reader() as realm:
        return UserView.of(realm.users.get(username))


@router.patch("/{username}", openapi_extra=WRITE, responses={**NOT_FOUND, **CONFLICT}, summary="Change a user")
def change_user(admin: Admin, username: UsernameIn, body: UserChange) -> UserView:
    """Only the fields present change; `null` clears email or name."""
    given = body.model_fields_set
    with admin.realm() as realm:
        if body.disabled:
            admin.must_not_be(realm.users.get(username).username, "disable")
        user = realm.users.update(
            username,
            email=body.email if "email" in given else ...,
            name=body.name if "name" in given else ...,
            disabled=body.disabled,
            email_verified=body.email_verified,
        )
        if "email" in given and user.email is not None and not user.email_verified:
            EmailVerification(admin.services).send(realm.session, user, actor=admin.actor)
        view = UserView.of(user)
    admin.services.outbox.wake()
    return view


@router.post("/{username}/disable", openapi_extra=WRITE, responses={**NOT_FOUND, **CONFLICT}, summary="Disable a user")
def disable_user(admin: Admin, username: UsernameIn) -> UserView:
    """A disabled user cannot log in, and their admin tokens stop working at once."""
    with admin.realm() as realm:
        admin.must_not_be(realm.users.get(username).username, "disable")
        return UserView.of(realm.users.update(username, disabled=True))


@router.post("/{username}/enable", openapi_extra=WRITE, responses=NOT_FOUND, summary="Enable a user")
def enable_user(admin: Admin, username: UsernameIn) -> UserView:
    with admin.realm() as realm:
        return UserView.of(realm.users.update(username, disabled=False))


@router.put(
    "/{username}/password", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND, summary="Set a user's password"
)
def set_password(admin: Admin, username: UsernameIn, body: PasswordSet) -> None:
    """422 `weak_password` when the policy refuses it (too short, common or guessable)."""
    with admin.realm() as realm:
        realm.users.set_password(username, body.password)


@router.put("/{username}/roles", openapi_extra=WRITE, responses=NOT_FOUND, summary="Set a user's roles")
def set_roles(admin: Admin, username: UsernameIn, body: RoleList) -> UserView:
    """Replaces the roles the user holds; 404 names a role that does not exist."""
    with admin.realm() as realm:
        return UserView.of(realm.users.set_roles(username, body.roles))


@router.post("/{username}/roles", openapi_extra=WRITE, responses=NOT_FOUND, summary="Add roles to a user")
def add_roles(admin: Admin, username: UsernameIn, body: RoleList) -> UserView:
    with admin.realm() as realm:
        return UserView.of(realm.users.add_roles(username, body.roles))


@router.delete(
    "/{username}/roles/{role}", openapi_extra=WRITE, responses=NOT_FOUND, summary="Remove a role from a user"
)
def remove_role(admin: Admin, username: UsernameIn, role: Annotated[RoleName, Path()]) -> UserView:
    with admin.realm() as realm:
        return UserView.of(realm.users.remove_roles(username, [role]))


@router.get("/{username}/factors", openapi_extra=READ, responses=NOT_FOUND, summary="List a user's sign-in factors")
def list_factors(admin: Admin, username: UsernameIn) -> list[FactorView]:
    """Authenticator apps, recovery codes (how many are left), passkeys: never a secret."""
    with admin.reader() as realm:
        return [FactorView.of(factor) for factor in factor_admin.factors_of_user(realm, username)]


@router.delete("/{username}/factors/{kind}/{factor_id}", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND,
               summary="Remove a user's factor")
def remove_factor(admin: Admin, username: UsernameIn, kind: FactorKind, factor_id: FactorId) -> None:
    """Also ends the user's sessions and revokes their refresh tokens (audited). With the last second factor go the
    recovery codes."""
    with admin.realm() as realm:
        factor_admin.remove_factor(realm, username, kind, factor_id)


@router.delete(
    "/{username}", openapi_extra=WRITE, status_code=204, responses={**NOT_FOUND, **CONFLICT}, summary="Delete a user"
)
def delete_user(admin: Admin, username: UsernameIn) -> None:
    """Their sessions, consents and refresh tokens go with them. You cannot delete your own account (409)."""
    with admin.realm() as realm:
        admin.must_not_be(realm.users.get(username).username, "delete")
        realm.users.delete(username)

