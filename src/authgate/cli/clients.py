"""authgate client …: OAuth clients."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Optional

import typer

from authgate.access.clients import ClientSpec
from authgate.cli import context
from authgate.cli.access import Grant, parse_grants
from authgate.cli.output import console, details, emit_json, handle_errors, table
from authgate.clock import utcnow
from authgate.views import ClientView

app = typer.Typer(help="Manage OAuth clients.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Many = Optional[list[str]]
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
    client_id: str,
    type: Annotated[str, typer.Option(help="public or confidential.")] = "confidential",
    name: Annotated[Optional[str], typer.Option()] = None,
    redirect_uri: Annotated[Many, typer.Option("--redirect-uri", help="Repeatable.")] = None,
    post_logout_redirect_uri: Annotated[Many, typer.Option("--post-logout-redirect-uri", help="Repeatable.")] = None,
    web_origin: Annotated[Many, typer.Option("--web-origin", help="CORS origin (repeatable).")] = None,
    grant_type: Annotated[Many, typer.Option("--grant-type", help="Repeatable; default authorization_code + refresh_token.")] = None,
    third_party: Annotated[bool, typer.Option("--third-party", help="Ask users for consent.")] = False,
    audience: Annotated[Optional[str], typer.Option(help="Default API identifier for its tokens.")] = None,
    permission: Grant = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a client; a confidential one gets a generated secret, printed once."""
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
def list_clients(json_output: JsonFlag = False) -> None:
    """List clients."""
    with context.services().reader() as realm:
        views = [ClientView.of(client) for client in realm.clients.list()]
    if json_output:
        emit_json(views)
        return
    table("clients", ["client_id", "type", "grant types", "redirect URIs", "permissions"],
          [(v.client_id, v.type, v.grant_types, v.redirect_uris, v.permissions) for v in views])


@app.command("show")
@handle_errors
def show(client_id: str, json_output: JsonFlag = False) -> None:
    """Show a client."""
    with context.services().reader() as realm:
        view = ClientView.of(realm.clients.get(client_id))
    _show(view, None, json_output)


@app.command("change")
@handle_errors
def change(
    client_id: str,
    name: Annotated[Optional[str], typer.Option()] = None,
    redirect_uri: Annotated[Many, typer.Option("--redirect-uri", help="Replaces the list (repeatable).")] = None,
    grant_type: Annotated[Many, typer.Option("--grant-type", help="Replaces the list (repeatable).")] = None,
    web_origin: Annotated[Many, typer.Option("--web-origin", help="Replaces the list (repeatable).")] = None,
    disabled: Annotated[Optional[bool], typer.Option("--disabled/--enabled")] = None,
    permission: Grant = None,
    json_output: JsonFlag = False,
) -> None:
    """Change a client; the options given replace what it had."""
    with context.services().realm(ACTOR) as realm:
        current = ClientView.of(realm.clients.get(client_id))
        spec = ClientSpec(**current.model_dump(exclude={"created_at", "dynamic", "last_used_at"}))
        updates: dict[str, object] = {}
        for key, value in (("name", name), ("redirect_uris", redirect_uri), ("grant_types", grant_type),
                           ("web_origins", web_origin), ("disabled", disabled)):
            if value is not None:
                updates[key] = value
        if permission is not None:
            updates["permissions"] = parse_grants(permission)
        client, _ = realm.clients.update(replace(spec, **updates))  # type: ignore[arg-type]
        view = ClientView.of(client)
    _show(view, None, json_output)


@app.command("rotate-secret")
@handle_errors
def rotate_secret(client_id: str, json_output: JsonFlag = False) -> None:
    """Give a confidential client a new secret (printed once); the old one stops working."""
    with context.services().realm(ACTOR) as realm:
        secret = realm.clients.rotate_secret(client_id)
    if json_output:
        emit_json({"client_id": client_id, "client_secret": secret})
    else:
        console.print(f"new secret for {client_id} (shown once): [bold]{secret}[/]")


@app.command("remove")
@handle_errors
def remove(client_id: str, yes: Annotated[bool, typer.Option("--yes")] = False) -> None:
    """Delete a client."""
    if not yes:
        typer.confirm(f"Delete client {client_id}?", abort=True)
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
