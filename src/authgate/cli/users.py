"""authgate user …: add, list, show, change, remove, password, roles, unlock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from authgate.cli import context
from authgate.cli.options import (
    EnableFlag,
    JsonFlag,
    LegacyEnableFlag,
    Many,
    YesFlag,
    confirm,
    either,
)
from authgate.cli.output import console, details, emit_json, handle_errors, table
from authgate.cli.paging import AllFlag, LimitOption, Page, PageRequest, show
from authgate.views import UserView

if TYPE_CHECKING:
    from authgate.services import Realm

app = typer.Typer(help="Manage users.", no_args_is_help=True)
Username = Annotated[str, typer.Argument(metavar="USERNAME", help="The user's username.")]
ACTOR = "cli"
FETCH_BATCH = 1000  # --all reads users in keyset pages of this many


def _show(view: UserView, json_output: bool) -> None:
    if json_output:
        emit_json(view)
        return
    details(f"user {view.username}", view.model_dump(exclude={"username"}))


@app.command("add")
@handle_errors
def add(
    username: Username,
    email: Annotated[str | None, typer.Option(metavar="EMAIL", help="Email address.")] = None,
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="Display name.")] = None,
    role: Annotated[Many, typer.Option("--role", metavar="ROLE", help="Role to hold (repeatable).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", metavar="", help="Read the password from stdin.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Create a user (without a password unless --password-stdin)."""
    password = context.read_secret_from_stdin("password") if password_stdin else None
    with context.services().realm(ACTOR) as realm:
        view = UserView.of(realm.users.create(username, password=password, email=email, name=name, roles=role or []))
    _show(view, json_output)


@app.command("list")
@handle_errors
def list_users(
    search: Annotated[str | None, typer.Option(metavar="PREFIX", help="Username or email prefix.")] = None,
    after: Annotated[str | None, typer.Option(metavar="USERNAME", help="Show users after this username (next page).")] = None,
    limit: LimitOption = None,
    all_: AllFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """List users, ordered by username."""
    request = PageRequest.of(limit, all_, json_output)
    with context.services().reader() as realm:
        fetch = request.fetch()
        if fetch is not None:
            users = realm.users.list(prefix=search, after=after, limit=fetch)
            views = [UserView.of(user) for user in users]
        else:
            views = []
            while True:
                batch = realm.users.list(prefix=search, after=after, limit=FETCH_BATCH)
                views.extend(UserView.of(user) for user in batch)
                if len(batch) < FETCH_BATCH:
                    break
                after = batch[-1].username
    page = Page.cut(views, request)
    show(page, request, what="users", json_output=json_output, render=_table,
         next_page=f"--after {page.items[-1].username}" if page.more else None)


def _table(views: list[UserView]) -> None:
    table("users", ["username", "email", "roles", "disabled", "last login"],
          [(v.username, v.email, v.roles, v.disabled, v.last_login_at) for v in views])


@app.command("show")
@handle_errors
def show_user(username: Username, json_output: JsonFlag = False) -> None:
    """Show one user."""
    with context.services().reader() as realm:
        view = UserView.of(realm.users.get(username))
    _show(view, json_output)


@app.command("change")
@handle_errors
def change(
    username: Username,
    email: Annotated[str | None, typer.Option(metavar="EMAIL", help="New email ('' to clear).")] = None,
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="New display name.")] = None,
    add_role: Annotated[Many, typer.Option("--add-role", metavar="ROLE", help="Role to add (repeatable).")] = None,
    remove_role: Annotated[Many, typer.Option("--remove-role", metavar="ROLE", help="Role to remove (repeatable).")] = None,
    disable: EnableFlag = None,
    disabled: LegacyEnableFlag = None,
    json_output: JsonFlag = False,
) -> None:
    """Change a user's email, name, roles or enabled state."""
    state = either(disable, disabled)
    with context.services().realm(ACTOR) as realm:
        user = realm.users.get(username)
        if email is not None or name is not None or state is not None:
            realm.users.update(user.username, email=email if email is not None else ...,
                               name=name if name is not None else ..., disabled=state)
        _change_roles(realm, user.username, add_role, remove_role)
        view = UserView.of(realm.users.get(user.username))
    _show(view, json_output)


def _change_roles(realm: Realm, username: str, add: list[str] | None, remove: list[str] | None) -> None:
    if add:
        realm.users.add_roles(username, add)
    if remove:
        realm.users.remove_roles(username, remove)


@app.command("password")
@handle_errors
def password(username: Username) -> None:
    """Set a user's password, read from stdin."""
    secret = context.read_secret_from_stdin("password")
    with context.services().realm(ACTOR) as realm:
        realm.users.set_password(username, secret)
    console.print(f"password of {username} changed")


@app.command("roles")
@handle_errors
def roles(
    username: Username,
    add_role: Annotated[Many, typer.Option("--add-role", metavar="ROLE", help="Role to add (repeatable).")] = None,
    remove_role: Annotated[Many, typer.Option("--remove-role", metavar="ROLE", help="Role to remove (repeatable).")] = None,
    add: Annotated[Many, typer.Option("--add", hidden=True)] = None,
    remove: Annotated[Many, typer.Option("--remove", hidden=True)] = None,
    json_output: JsonFlag = False,
) -> None:
    """Add or remove roles of a user (the same as `user change --add-role/--remove-role`)."""
    with context.services().realm(ACTOR) as realm:
        _change_roles(realm, username, [*(add_role or []), *(add or [])], [*(remove_role or []), *(remove or [])])
        view = UserView.of(realm.users.get(username))
    _show(view, json_output)


@app.command("remove")
@handle_errors
def remove(username: Username, yes: YesFlag = False) -> None:
    """Delete a user."""
    confirm(f"Delete user {username}", yes)
    with context.services().realm(ACTOR) as realm:
        realm.users.delete(username)
    console.print(f"user {username} removed")


@app.command("unlock")
@handle_errors
def unlock(username: Username, json_output: JsonFlag = False) -> None:
    """Clear a user's failed-login counters and locks (from every address)."""
    from authgate.accounts.login import unlock_account

    cleared = unlock_account(context.services(), username, actor=ACTOR)
    if json_output:
        emit_json({"username": username.strip().casefold(), "cleared": cleared})
        return
    console.print(f"{username}: {cleared} failure counter(s) and lock(s) cleared")
