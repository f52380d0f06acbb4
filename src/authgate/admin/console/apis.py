"""Console pages for APIs (audiences) and the permissions they declare.

API identifiers are usually URIs, so the pages take them as a query
parameter (`/admin/apis/view?identifier=…`) rather than a path segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.responses import Response

from authgate.admin.apis import keep_admin_api, keep_admin_permissions
from authgate.admin.console.forms import lines, optional, problem_of, read
from authgate.admin.console.view import Console
from authgate.admin.schemas import ApiChange, ApiCreate, PermissionCreate
from authgate.bootstrap import ADMIN_API
from authgate.errors import DomainError
from authgate.views import ApiView


def href(identifier: str, page: str = "view") -> str:
    return f"/admin/apis/{page}?{urlencode({'identifier': identifier})}"


def api_list(console: Console, problems: dict[str, str] | None = None, values: Mapping[str, object] | None = None,
             status: int = 200) -> Response:
    with console.caller.reader() as realm:
        apis = [ApiView.of(api) for api in realm.apis.list()]
    return console.render("apis.html", {"apis": apis, "problems": problems or {}, "values": values or {}, "href": href},
                          status=status)


def create_api(console: Console) -> Response:
    values = {"identifier": console.value("identifier", 500).strip(), "name": optional(console.value("name", 300)),
              "permissions": lines(console.value("permissions", 20000))}
    body, problems = read(ApiCreate, values)
    if body is None:
        return api_list(console, problems, values, 422)
    try:
        with console.caller.realm() as realm:
            realm.apis.create(body.identifier, body.name, body.permissions)
    except DomainError as error:
        return api_list(console, problem_of(error), values, 422)
    return console.done(href(body.identifier), f"API {body.identifier} created.")


def api_detail(console: Console, problems: dict[str, str] | None = None, status: int = 200) -> Response:
    with console.caller.reader() as realm:
        api = ApiView.of(realm.apis.get(console.value("identifier", 500)))
    return console.render("api.html", {"api": api, "problems": problems or {}, "href": href,
                                       "protected": api.identifier == ADMIN_API}, status=status)


def rename_api(console: Console) -> Response:
    identifier = console.value("identifier", 500)
    body, problems = read(ApiChange, {"name": optional(console.value("name", 300))})
    if body is None:
        return api_detail(console, problems, 422)
    with console.caller.realm() as realm:
        realm.apis.update(identifier, name=body.name)
    return console.done(href(identifier), "Name saved.")


def add_permission(console: Console) -> Response:
    identifier = console.value("identifier", 500)
    body, problems = read(PermissionCreate, {"name": console.value("permission", 300).strip(),
                                             "description": optional(console.value("description", 500))})
    if body is None:
        return api_detail(console, {"permission": problems.get("name") or next(iter(problems.values()))}, 422)
    try:
        with console.caller.realm() as realm:
            realm.apis.add_permission(identifier, body.name, body.description)
    except DomainError as error:
        return api_detail(console, {"permission": error.message}, 422)
    return console.done(href(identifier), f"Permission {body.name} added.")


def remove_permission(console: Console) -> Response:
    identifier, permission = console.value("identifier", 500), console.value("permission", 300)
    keep_admin_permissions(identifier, [], removing=[permission])
    with console.caller.realm() as realm:
        realm.apis.remove_permission(identifier, permission)
    return console.done(href(identifier), f"Permission {permission} removed; roles and clients no longer hold it.")


def confirm_delete(console: Console) -> Response:
    with console.caller.reader() as realm:
        api = ApiView.of(realm.apis.get(console.value("identifier", 500)))
    return console.render("confirm.html", {
        "title": f"Delete API {api.name}?", "action": href(api.identifier, "delete"), "cancel": href(api.identifier),
        "message": f"{api.identifier} and its {len(api.permissions)} permissions go,"
                   " from every role and client that held them.",
        "button": "Delete API", "hidden": {"identifier": api.identifier},
    })


def delete_api(console: Console) -> Response:
    identifier = console.value("identifier", 500)
    keep_admin_api(identifier)
    with console.caller.realm() as realm:
        realm.apis.delete(identifier)
    return console.done("/admin/apis", f"API {identifier} deleted.")
