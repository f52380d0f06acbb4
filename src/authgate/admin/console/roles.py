"""Console pages for roles: list, create, describe, choose their permissions (grouped by API), delete."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from starlette.responses import Response

from authgate.admin.console.forms import optional, problem_of, read
from authgate.admin.console.view import Console
from authgate.admin.schemas import GrantSet, RoleChange, RoleCreate
from authgate.errors import DomainError
from authgate.views import ApiView, RoleView

# The form's choice → `require_mfa` (anything else: the default, as when the field is absent).
REQUIRE_MFA_CHOICES: dict[str, bool | None] = {"default": None, "required": True, "not_required": False}


def href(name: str, suffix: str = "") -> str:
    return f"/admin/roles/{quote(name, safe='')}{suffix}"


def role_list(console: Console, problems: dict[str, str] | None = None, values: Mapping[str, object] | None = None,
              status: int = 200) -> Response:
    with console.caller.reader() as realm:
        roles = [RoleView.of(role) for role in realm.roles.list()]
    shown = {"roles": roles, "problems": problems or {}, "values": values or {}, "href": href}
    return console.render("roles.html", shown, status=status)


def create_role(console: Console) -> Response:
    values = {"name": console.value("name", 200).strip(), "description": optional(console.value("description", 500))}
    body, problems = read(RoleCreate, values)
    if body is None:
        return role_list(console, problems, values, 422)
    try:
        with console.caller.realm() as realm:
            realm.roles.create(body.name, body.description)
    except DomainError as error:
        return role_list(console, problem_of(error), values, 422)
    return console.done(href(body.name), f"Role {body.name} created. Now choose its permissions.")


def role_detail(console: Console, problems: dict[str, str] | None = None, status: int = 200) -> Response:
    name = console.path("name")
    with console.caller.reader() as realm:
        role = RoleView.of(realm.roles.get(name))
        apis = [ApiView.of(api) for api in realm.apis.list()]
    shown = {"role": role, "apis": apis, "problems": problems or {}, "href": href}
    return console.render("role.html", shown, status=status)


def save_role(console: Console) -> Response:
    """The description and the permissions, from one form: each checkbox is `identifier permission`."""
    name = console.path("name")
    grants: dict[str, list[str]] = {}
    for value in console.values("grant"):
        identifier, _, permission = value.rpartition(" ")
        grants.setdefault(identifier, []).append(permission)
    change, problems = read(RoleChange, {"description": optional(console.value("description", 500)),
                                         "require_mfa": REQUIRE_MFA_CHOICES.get(console.value("require_mfa", 20))})
    grant_set, grant_problems = read(GrantSet, {"permissions": grants})
    if change is None or grant_set is None:
        return role_detail(console, {**problems, **grant_problems}, 422)
    try:
        with console.caller.realm() as realm:
            realm.roles.update(name, description=change.description or "")
            realm.roles.set_require_mfa(name, change.require_mfa)
            realm.roles.set_permissions(name, grant_set.permissions)
    except DomainError as error:
        return role_detail(console, problem_of(error), 422)
    return console.done(href(name), f"Role {name} saved.")


def confirm_delete(console: Console) -> Response:
    name = console.path("name")
    with console.caller.reader() as realm:
        role = RoleView.of(realm.roles.get(name))
    return console.render("confirm.html", {
        "title": f"Delete role {role.name}?", "action": href(role.name, "/delete"), "cancel": href(role.name),
        "message": "Every user holding it loses it, and the permissions it gave. This cannot be undone.",
        "button": "Delete role",
    })


def delete_role(console: Console) -> Response:
    name = console.path("name")
    with console.caller.realm() as realm:
        realm.roles.delete(name)
    return console.done("/admin/roles", f"Role {name} deleted.")
