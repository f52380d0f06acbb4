"""authgate client …: OAuth clients."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from authgate.cli import context
from authgate.cli.access import AddGrant, Grant, RemoveGrant, parse_grants
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
from authgate.clock import utcnow

# The domain is imported inside the commands: `authgate --help` loads none of it (context.py).
if TYPE_CHECKING:
    from authgate.views import ClientView

app = typer.Typer(help="Manage OAuth clients.", no_args_is_help=True)
ClientId = Annotated[str, typer.Argument(metavar="CLIENT_ID", help="The client's client_id.")]
ACTOR = "cli"


def _show(view: ClientView, secret: str | None, json_output: bool) -> None:
    if json_output:
        data = view.model_dump(mode="json")
        if secret:
            data["client_secret"] = secret
        emit_json(data)
        return
    details(f"client {view.client_id}", view.model_dump(exclude={"client_id"}))
    if secret:
        console.print(f"client secret (shown once): [bold]{secret}[/]")


@app.command("add")
@handle_errors
def add(
    client_id: ClientId,
    type: Annotated[str, typer.Option(metavar="public|confidential", help="The client type.")] = "confidential",
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="A human name.")] = None,
    redirect_uri: Annotated[Many, typer.Option("--redirect-uri", metavar="URI", help="Repeatable.")] = None,
    post_logout_redirect_uri: Annotated[Many, typer.Option(
        "--post-logout-redirect-uri", metavar="URI", help="Repeatable.")] = None,
    web_origin: Annotated[Many, typer.Option(
        "--web-origin", metavar="ORIGIN", help="CORS origin (repeatable).")] = None,
    grant_type: Annotated[Many, typer.Option(
        "--grant-type", metavar="GRANT", help="Repeatable; default authorization_code + refresh_token.")] = None,
    third_party: Annotated[bool, typer.Option("--third-party", metavar="", help="Ask users for consent.")] = False,
    audience: Annotated[str | None, typer.Option(metavar="API", help="Default API identifier for its tokens.")] = None,
    permission: Grant = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a client; a confidential one gets a generated secret, printed once."""
    from authgate.access.clients import ClientSpec
    from authgate.views import ClientView

    spec = ClientSpec(
        client_id=client_id, type=type, name=name, redirect_uris=redirect_uri or [],
        post_logout_redirect_uris=post_logout_redirect_uri or [], web_origins=web_origin or [],
        first_party=not third_party, default_audience=audience, permissions=parse_grants(permission),
    )
    if grant_type:
        spec = replace(spec, grant_types=grant_type)
    with context.services().realm(ACTOR) as realm:
        client, secret = realm.clients.create(spec)
        view = ClientView.of(client)
    _show(view, secret, json_output)


@app.command("list")
@handle_errors
def list_clients(limit: LimitOption = None, all_: AllFlag = False, json_output: JsonFlag = False) -> None:
    """List clients."""
    from authgate.views import ClientView

    request = PageRequest.of(limit, all_, json_output)
    with context.services().reader() as realm:
        views = [ClientView.of(client) for client in realm.clients.list()]
    show(Page.cut(views, request), request, what="clients", json_output=json_output, render=lambda page: table(
        "clients", ["client_id", "type", "grant types", "redirect URIs", "permissions"],
        [(v.client_id, v.type, v.grant_types, v.redirect_uris, v.permissions) for v in page]))


@app.command("show")
@handle_errors
def show_client(client_id: ClientId, json_output: JsonFlag = False) -> None:
    """Show a client."""
    from authgate.views import ClientView

    with context.services().reader() as realm:
        view = ClientView.of(realm.clients.get(client_id))
    _show(view, None, json_output)


AddUri = Annotated[Many, typer.Option("--add-redirect-uri", metavar="URI", help="Redirect URI to add (repeatable).")]
RemoveUri = Annotated[Many, typer.Option(
    "--remove-redirect-uri", metavar="URI", help="Redirect URI to remove (repeatable).")]
AddGrantType = Annotated[Many, typer.Option(
    "--add-grant-type", metavar="GRANT", help="Grant type to add (repeatable).")]
RemoveGrantType = Annotated[Many, typer.Option(
    "--remove-grant-type", metavar="GRANT", help="Grant type to remove (repeatable).")]
AddOrigin = Annotated[Many, typer.Option("--add-web-origin", metavar="ORIGIN", help="CORS origin to add (repeatable).")]
RemoveOrigin = Annotated[Many, typer.Option(
    "--remove-web-origin", metavar="ORIGIN", help="CORS origin to remove (repeatable).")]


@app.command("change")
@handle_errors
def change(
    client_id: ClientId,
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="A human name.")] = None,
    add_redirect_uri: AddUri = None,
    remove_redirect_uri: RemoveUri = None,
    add_grant_type: AddGrantType = None,
    remove_grant_type: RemoveGrantType = None,
    add_web_origin: AddOrigin = None,
    remove_web_origin: RemoveOrigin = None,
    add_permission: AddGrant = None,
    remove_permission: RemoveGrant = None,
    disable: EnableFlag = None,
    disabled: LegacyEnableFlag = None,
    # The old spellings, which replace the whole list: still accepted, not shown.
    redirect_uri: Annotated[Many, typer.Option("--redirect-uri", hidden=True)] = None,
    grant_type: Annotated[Many, typer.Option("--grant-type", hidden=True)] = None,
    web_origin: Annotated[Many, typer.Option("--web-origin", hidden=True)] = None,
    permission: Annotated[Many, typer.Option("--permission", "-p", hidden=True)] = None,
    json_output: JsonFlag = False,
) -> None:
    """Change a client: its name, enabled state, and what its lists hold."""
    from authgate.access.clients import ClientSpec
    from authgate.views import ClientView

    with context.services().realm(ACTOR) as realm:
        current = ClientView.of(realm.clients.get(client_id))
        spec = ClientSpec(**current.model_dump(exclude={"created_at", "dynamic", "last_used_at"}))
        grants = parse_grants(permission) if permission is not None else current.permissions
        state = either(disable, disabled)
        spec = replace(
            spec,
            name=name if name is not None else spec.name,
            redirect_uris=_edited(redirect_uri or spec.redirect_uris, add_redirect_uri, remove_redirect_uri),
            grant_types=_edited(grant_type or spec.grant_types, add_grant_type, remove_grant_type),
            web_origins=_edited(web_origin or spec.web_origins, add_web_origin, remove_web_origin),
            permissions=_edited_grants(grants, parse_grants(add_permission, "--add-permission"),
                                       parse_grants(remove_permission, "--remove-permission")),
            disabled=state if state is not None else spec.disabled,
        )
        client, _ = realm.clients.update(spec)
        view = ClientView.of(client)
    _show(view, None, json_output)


def _edited(values: list[str], add: list[str] | None, remove: list[str] | None) -> list[str]:
    removed = set(remove or [])
    return [value for value in dict.fromkeys([*values, *(add or [])]) if value not in removed]


def _edited_grants(
    grants: dict[str, list[str]], add: dict[str, list[str]], remove: dict[str, list[str]],
) -> dict[str, list[str]]:
    edited = {identifier: _edited(names, add.get(identifier), remove.get(identifier))
              for identifier, names in grants.items()}
    for identifier, names in add.items():
        edited.setdefault(identifier, _edited([], names, remove.get(identifier)))
    return {identifier: names for identifier, names in edited.items() if names}


@app.command("rotate-secret")
@handle_errors
def rotate_secret(client_id: ClientId, yes: YesFlag = False, json_output: JsonFlag = False) -> None:
    """Give a confidential client a new secret (printed once); the old one stops working."""
    confirm(f"Replace the secret of client {client_id} (the current one stops working at once)", yes)
    with context.services().realm(ACTOR) as realm:
        secret = realm.clients.rotate_secret(client_id)
    if json_output:
        emit_json({"client_id": client_id, "client_secret": secret})
    else:
        console.print(f"new secret for {client_id} (shown once): [bold]{secret}[/]")


@app.command("remove")
@handle_errors
def remove(client_id: ClientId, yes: YesFlag = False) -> None:
    """Delete a client."""
    confirm(f"Delete client {client_id}", yes)
    with context.services().realm(ACTOR) as realm:
        realm.clients.delete(client_id)
    console.print(f"client {client_id} removed")


@app.command("registration-token")
@handle_errors
def registration_token(
    lifetime: Annotated[int, typer.Option(min=60, max=30 * 86400, help="Seconds it stays valid.")] = 86400,
    json_output: JsonFlag = False,
) -> None:
    """Print an initial access token for dynamic client registration (AUTHGATE_CLIENT_REGISTRATION=token)."""
    from authgate.registration import initial_tokens

    settings = context.settings()
    token = initial_tokens.issue(settings, utcnow(), timedelta(seconds=lifetime))
    if json_output:
        emit_json({"initial_access_token": token, "expires_in": lifetime})
        return
    if settings.client_registration != "token":
        console.print("note: AUTHGATE_CLIENT_REGISTRATION is not 'token'; the registration endpoint ignores it")
    console.print(f"initial access token (valid {lifetime} s): [bold]{token}[/]")


@app.command("purge-dynamic")
@handle_errors
def purge_dynamic(json_output: JsonFlag = False) -> None:
    """Remove dynamically registered clients unused for AUTHGATE_DYNAMIC_CLIENT_MAX_IDLE seconds."""
    from authgate.registration import registrations

    services = context.services()
    max_idle = timedelta(seconds=services.settings.dynamic_client_max_idle)
    with services.realm(ACTOR) as realm:
        removed = registrations.purge_idle(realm, utcnow(), max_idle)
    if json_output:
        emit_json({"removed": removed})
        return
    console.print(f"{len(removed)} idle dynamically registered client(s) removed")
