"""authgate user …: add, list, show, change, remove, password, roles, unlock; invite, send-reset, send-verification."""

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

# The domain is imported inside the commands: `authgate --help` loads none of it (context.py).
if TYPE_CHECKING:
    from authgate.services import Realm
    from authgate.views import UserView

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
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", metavar="", help="Read the password from stdin.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Create a user (without a password unless --password-stdin)."""
    from authgate.accounts.email_verification import EmailVerification
    from authgate.views import UserView

    password = context.read_secret_from_stdin("password") if password_stdin else None
    services = context.services()
    with services.realm(ACTOR) as realm:
        user = realm.users.create(username, password=password, email=email, name=name, roles=role or [])
        if user.email is not None:
            EmailVerification(services).send(realm.session, user, actor=ACTOR)
        view = UserView.of(user)
    _show(view, json_output)


@app.command("list")
@handle_errors
def list_users(
    search: Annotated[str | None, typer.Option(metavar="PREFIX", help="Username or email prefix.")] = None,
    after: Annotated[str | None, typer.Option(
        metavar="USERNAME", help="Show users after this username (next page).")] = None,
    limit: LimitOption = None,
    all_: AllFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """List users, ordered by username."""
    from authgate.views import UserView

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
    from authgate.views import UserView

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
    remove_role: Annotated[Many, typer.Option(
        "--remove-role", metavar="ROLE", help="Role to remove (repeatable).")] = None,
    disable: EnableFlag = None,
    disabled: LegacyEnableFlag = None,
    json_output: JsonFlag = False,
) -> None:
    """Change a user's email, name, roles or enabled state."""
    from authgate.views import UserView

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
    remove_role: Annotated[Many, typer.Option(
        "--remove-role", metavar="ROLE", help="Role to remove (repeatable).")] = None,
    add: Annotated[Many, typer.Option("--add", hidden=True)] = None,
    remove: Annotated[Many, typer.Option("--remove", hidden=True)] = None,
    json_output: JsonFlag = False,
) -> None:
    """Add or remove roles of a user (the same as `user change --add-role/--remove-role`)."""
    from authgate.views import UserView

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


@app.command("invite")
@handle_errors
def invite(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The person's email address.")],
    role: Annotated[list[str] | None, typer.Option("--role", metavar="ROLE", help="Role to hold (repeatable).")] = None,
    username: Annotated[str | None, typer.Option(
        metavar="USERNAME", help="Username (default: the email address).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Invite a person by email: the account is created without a password; they choose one from the link."""
    from authgate.accounts.invitations import Invitations
    from authgate.views import UserView

    services = context.services()
    with services.realm(ACTOR) as realm:
        view = UserView.of(Invitations(services).invite(realm, email, roles=role or [], username=username))
    _show(view, json_output)


@app.command("invitations")
@handle_errors
def invitations(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    all_: Annotated[bool, typer.Option("--all", help="Every pending invitation (no --limit).")] = False,
    json_output: JsonFlag = False,
) -> None:
    """List pending invitations."""
    from authgate.accounts.invitations import Invitations

    services = context.services()
    with services.reader() as realm:
        pending = Invitations(services).pending(realm)
    rows = pending if all_ else pending[:limit]
    if json_output:
        emit_json([{"username": i.username, "email": i.email, "expires_at": i.expires_at} for i in rows])
        return
    table("invitations", ["username", "email", "expires"], [(i.username, i.email, i.expires_at) for i in rows])


@app.command("resend-invitation")
@handle_errors
def resend_invitation(username: str) -> None:
    """Send an invitation again: a new link and code; the old ones stop working."""
    from authgate.accounts.invitations import Invitations

    services = context.services()
    with services.realm(ACTOR) as realm:
        Invitations(services).resend(realm, username)
    console.print(f"invitation to {username} queued")


@app.command("revoke-invitation")
@handle_errors
def revoke_invitation(username: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Revoke an invitation: its link stops working and the invited account (never used) is deleted."""
    from authgate.accounts.invitations import Invitations

    if not yes:
        typer.confirm(f"Revoke the invitation of {username} and delete the account?", abort=True)
    services = context.services()
    with services.realm(ACTOR) as realm:
        Invitations(services).revoke(realm, username)
    console.print(f"invitation of {username} revoked")


@app.command("send-reset")
@handle_errors
def send_reset(username: str) -> None:
    """Mail a user a password reset link and code."""
    from authgate.accounts.password_reset import PasswordReset

    services = context.services()
    with services.realm(ACTOR) as realm:
        PasswordReset(services).send_to(realm.session, realm.users.get(username), actor=ACTOR)
    console.print(f"password reset message to {username} queued")


@app.command("send-verification")
@handle_errors
def send_verification(username: str) -> None:
    """Mail a user a new email verification link and code."""
    from authgate.accounts.email_verification import EmailVerification

    services = context.services()
    with services.realm(ACTOR) as realm:
        EmailVerification(services).send(realm.session, realm.users.get(username), actor=ACTOR)
    console.print(f"verification message to {username} queued")
