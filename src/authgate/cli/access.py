"""authgate role … / api …: roles, APIs and their permissions."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from authgate.cli import context
from authgate.cli.output import console, details, emit_json, fail, handle_errors, table
from authgate.views import ApiView, RoleView

roles = typer.Typer(help="Manage roles.", no_args_is_help=True)
apis = typer.Typer(help="Manage APIs and their permissions.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Grant = Annotated[Optional[list[str]], typer.Option("--permission", "-p", help="API=permission (repeatable).")]
ACTOR = "cli"


def parse_grants(values: list[str] | None) -> dict[str, list[str]]:
    grants: dict[str, list[str]] = {}
    for value in values or []:
        identifier, sep, name = value.rpartition("=")
        if not sep or not identifier or not name:
            raise fail(f"--permission {value!r}: expected API_IDENTIFIER=PERMISSION")
        grants.setdefault(identifier, []).append(name)
    return grants


def _show_role(view: RoleView, json_output: bool) -> None:
    if json_output:
        emit_json(view)
    else:
        details(f"role {view.name}", view.model_dump(exclude={"name"}))


@roles.command("add")
@handle_errors
def role_add(name: str, description: Annotated[Optional[str], typer.Option()] = None, permission: Grant = None, json_output: JsonFlag = False) -> None:
    """Create a role."""
    with context.services().realm(ACTOR) as realm:
        view = RoleView.of(realm.roles.create(name, description, parse_grants(permission)))
    _show_role(view, json_output)


@roles.command("list")
@handle_errors
def role_list(json_output: JsonFlag = False) -> None:
    """List roles."""
    with context.services().reader() as realm:
        views = [RoleView.of(role) for role in realm.roles.list()]
    if json_output:
        emit_json(views)
        return
    table("roles", ["name", "description", "permissions"], [(v.name, v.description, v.permissions) for v in views])


@roles.command("show")
@handle_errors
def role_show(name: str, json_output: JsonFlag = False) -> None:
    """Show a role."""
    with context.services().reader() as realm:
        view = RoleView.of(realm.roles.get(name))
    _show_role(view, json_output)


@roles.command("change")
@handle_errors
def role_change(
    name: str,
    description: Annotated[Optional[str], typer.Option()] = None,
    grant: Annotated[Optional[list[str]], typer.Option("--grant", help="API=permission to grant (repeatable).")] = None,
    revoke: Annotated[Optional[list[str]], typer.Option("--revoke", help="API=permission to revoke (repeatable).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Change a role's description or permissions."""
    with context.services().realm(ACTOR) as realm:
        if description is not None:
            realm.roles.update(name, description=description)
        if grant:
            realm.roles.grant(name, parse_grants(grant))
        if revoke:
            realm.roles.revoke(name, parse_grants(revoke))
        view = RoleView.of(realm.roles.get(name))
    _show_role(view, json_output)


@roles.command("remove")
@handle_errors
def role_remove(name: str, yes: Annotated[bool, typer.Option("--yes")] = False) -> None:
    """Delete a role (users lose it)."""
    if not yes:
        typer.confirm(f"Delete role {name}?", abort=True)
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
    identifier: str,
    name: Annotated[Optional[str], typer.Option()] = None,
    permission: Annotated[Optional[list[str]], typer.Option("--permission", "-p", help="Permission (repeatable).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create an API (an audience) with permissions."""
    with context.services().realm(ACTOR) as realm:
        view = ApiView.of(realm.apis.create(identifier, name, permission or []))
    _show_api(view, json_output)


@apis.command("list")
@handle_errors
def api_list(json_output: JsonFlag = False) -> None:
    """List APIs."""
    with context.services().reader() as realm:
        views = [ApiView.of(api) for api in realm.apis.list()]
    if json_output:
        emit_json(views)
        return
    table("APIs", ["identifier", "name", "permissions"], [(v.identifier, v.name, [p.name for p in v.permissions]) for v in views])


@apis.command("show")
@handle_errors
def api_show(identifier: str, json_output: JsonFlag = False) -> None:
    """Show an API."""
    with context.services().reader() as realm:
        view = ApiView.of(realm.apis.get(identifier))
    _show_api(view, json_output)


@apis.command("change")
@handle_errors
def api_change(
    identifier: str,
    name: Annotated[Optional[str], typer.Option()] = None,
    add: Annotated[Optional[list[str]], typer.Option("--add-permission", help="Permission to add (repeatable).")] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove-permission", help="Permission to remove (repeatable).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Rename an API or add and remove permissions."""
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
def api_remove(identifier: str, yes: Annotated[bool, typer.Option("--yes")] = False) -> None:
    """Delete an API and its permissions."""
    if not yes:
        typer.confirm(f"Delete API {identifier}?", abort=True)
    with context.services().realm(ACTOR) as realm:
        realm.apis.delete(identifier)
    console.print(f"API {identifier} removed")
