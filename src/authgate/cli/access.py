"""authgate role … / api …: roles, APIs and their permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from authgate.cli import context
from authgate.cli.options import JsonFlag, Many, YesFlag, confirm
from authgate.cli.output import console, details, emit_json, fail, handle_errors, table
from authgate.cli.paging import AllFlag, LimitOption, Page, PageRequest, show

# The domain is imported inside the commands: `authgate --help` loads none of it (context.py).
if TYPE_CHECKING:
    from authgate.access.apis import ApiHolders
    from authgate.views import ApiView, RoleView

roles = typer.Typer(help="Manage roles.", no_args_is_help=True)
apis = typer.Typer(help="Manage APIs and their permissions.", no_args_is_help=True)
Grant = Annotated[Many, typer.Option(
    "--permission", "-p", metavar="API=PERMISSION", help="Permission to hold (repeatable).")]
AddGrant = Annotated[Many, typer.Option(
    "--add-permission", metavar="API=PERMISSION", help="Permission to add (repeatable).")]
RemoveGrant = Annotated[Many, typer.Option(
    "--remove-permission", metavar="API=PERMISSION", help="Permission to remove (repeatable).")]
RoleName = Annotated[str, typer.Argument(metavar="ROLE", help="The role's name.")]
ApiIdentifier = Annotated[str, typer.Argument(metavar="API", help="The API's identifier (its audience).")]
Description = Annotated[str | None, typer.Option(metavar="TEXT", help="What the role is for.")]
ApiName = Annotated[str | None, typer.Option(metavar="TEXT", help="A human name for the API.")]
ACTOR = "cli"


def parse_grants(values: list[str] | None, flag: str = "--permission") -> dict[str, list[str]]:
    grants: dict[str, list[str]] = {}
    for value in values or []:
        identifier, sep, name = value.rpartition("=")
        if not sep or not identifier or not name:
            raise fail(f"{flag} {value!r}: expected API_IDENTIFIER=PERMISSION")
        grants.setdefault(identifier, []).append(name)
    return grants


def _show_role(view: RoleView, json_output: bool) -> None:
    if json_output:
        emit_json(view)
    else:
        details(f"role {view.name}", view.model_dump(exclude={"name"}))


@roles.command("add")
@handle_errors
def role_add(
    name: RoleName, description: Description = None, permission: Grant = None, json_output: JsonFlag = False,
) -> None:
    """Create a role."""
    from authgate.views import RoleView

    with context.services().realm(ACTOR) as realm:
        view = RoleView.of(realm.roles.create(name, description, parse_grants(permission)))
    _show_role(view, json_output)


@roles.command("list")
@handle_errors
def role_list(limit: LimitOption = None, all_: AllFlag = False, json_output: JsonFlag = False) -> None:
    """List roles."""
    from authgate.views import RoleView

    request = PageRequest.of(limit, all_, json_output)
    with context.services().reader() as realm:
        views = [RoleView.of(role) for role in realm.roles.list()]
    show(Page.cut(views, request), request, what="roles", json_output=json_output, render=lambda page: table(
        "roles", ["name", "description", "permissions"], [(v.name, v.description, v.permissions) for v in page]))


@roles.command("show")
@handle_errors
def role_show(name: RoleName, json_output: JsonFlag = False) -> None:
    """Show a role."""
    from authgate.views import RoleView

    with context.services().reader() as realm:
        view = RoleView.of(realm.roles.get(name))
    _show_role(view, json_output)


@roles.command("change")
@handle_errors
def role_change(
    name: RoleName,
    description: Description = None,
    add_permission: AddGrant = None,
    remove_permission: RemoveGrant = None,
    grant: Annotated[Many, typer.Option("--grant", hidden=True)] = None,
    revoke: Annotated[Many, typer.Option("--revoke", hidden=True)] = None,
    json_output: JsonFlag = False,
) -> None:
    """Change a role's description, or add and remove its permissions."""
    from authgate.views import RoleView

    added = parse_grants([*(add_permission or []), *(grant or [])], "--add-permission")
    removed = parse_grants([*(remove_permission or []), *(revoke or [])], "--remove-permission")
    with context.services().realm(ACTOR) as realm:
        if description is not None:
            realm.roles.update(name, description=description)
        if added:
            realm.roles.grant(name, added)
        if removed:
            realm.roles.revoke(name, removed)
        view = RoleView.of(realm.roles.get(name))
    _show_role(view, json_output)


@roles.command("remove")
@handle_errors
def role_remove(name: RoleName, yes: YesFlag = False) -> None:
    """Delete a role (users lose it)."""
    confirm(f"Delete role {name}", yes)
    with context.services().realm(ACTOR) as realm:
        realm.roles.delete(name)
    console.print(f"role {name} removed")


def _show_api(view: ApiView, json_output: bool) -> None:
    if json_output:
        emit_json(view)
    else:
        details(f"API {view.identifier}", {"name": view.name, "permissions": [p.name for p in view.permissions]})


@apis.command("add")
@handle_errors
def api_add(
    identifier: ApiIdentifier,
    name: ApiName = None,
    permission: Annotated[Many, typer.Option(
        "--permission", "-p", metavar="PERMISSION", help="Permission it declares (repeatable).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create an API (an audience) with permissions."""
    from authgate.views import ApiView

    with context.services().realm(ACTOR) as realm:
        view = ApiView.of(realm.apis.create(identifier, name, permission or []))
    _show_api(view, json_output)


@apis.command("list")
@handle_errors
def api_list(limit: LimitOption = None, all_: AllFlag = False, json_output: JsonFlag = False) -> None:
    """List APIs."""
    from authgate.views import ApiView

    request = PageRequest.of(limit, all_, json_output)
    with context.services().reader() as realm:
        views = [ApiView.of(api) for api in realm.apis.list()]
    show(Page.cut(views, request), request, what="APIs", json_output=json_output, render=lambda page: table(
        "APIs", ["identifier", "name", "permissions"],
        [(v.identifier, v.name, [p.name for p in v.permissions]) for v in page]))


@apis.command("show")
@handle_errors
def api_show(identifier: ApiIdentifier, json_output: JsonFlag = False) -> None:
    """Show an API."""
    from authgate.views import ApiView

    with context.services().reader() as realm:
        view = ApiView.of(realm.apis.get(identifier))
    _show_api(view, json_output)


@apis.command("change")
@handle_errors
def api_change(
    identifier: ApiIdentifier,
    name: ApiName = None,
    add: Annotated[Many, typer.Option(
        "--add-permission", metavar="PERMISSION", help="Permission to add (repeatable).")] = None,
    remove: Annotated[Many, typer.Option(
        "--remove-permission", metavar="PERMISSION", help="Permission to remove (repeatable).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Rename an API or add and remove permissions."""
    from authgate.views import ApiView

    with context.services().realm(ACTOR) as realm:
        if name is not None:
            realm.apis.update(identifier, name=name)
        for permission in add or []:
            realm.apis.add_permission(identifier, permission)
        for permission in remove or []:
            realm.apis.remove_permission(identifier, permission)
        view = ApiView.of(realm.apis.get(identifier))
    _show_api(view, json_output)


@apis.command("remove")
@handle_errors
def api_remove(
    identifier: ApiIdentifier,
    force: Annotated[bool, typer.Option(
        "--force", metavar="",
        help="Remove it even if roles or clients hold its permissions (they lose them).")] = False,
    yes: YesFlag = False,
) -> None:
    """Delete an API and its permissions; refused while roles or clients hold them, unless --force."""
    with context.services().reader() as realm:
        holders = realm.apis.holders(identifier)
    if holders and not force:
        raise fail(f"API {identifier} is in use: {_describe(holders)}; --force removes it and strips these permissions")
    stripped = f" and strip its permissions from {_describe(holders)}" if holders else ""
    confirm(f"Delete API {identifier}{stripped}", yes)
    with context.services().realm(ACTOR) as realm:
        if not force and realm.apis.holders(identifier):  # granted since we looked
            raise fail(f"API {identifier} came into use meanwhile; nothing removed")
        realm.apis.delete(identifier)
    if holders:
        console.print(f"stripped from {_describe(holders)}", highlight=False)
    console.print(f"API {identifier} removed")


def _describe(holders: ApiHolders) -> str:
    """`role barista (get:drinks), client nightly-report (get:drinks)`."""
    parts = [f"role {name} ({', '.join(names)})" for name, names in holders.roles.items()]
    parts += [f"client {client_id} ({', '.join(names)})" for client_id, names in holders.clients.items()]
    return ", ".join(parts)
