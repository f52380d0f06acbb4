"""init, serve, apply, demo: getting a server running."""

from __future__ import annotations

import functools
import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from authgate import logs
from authgate.cli import context
from authgate.cli.options import JsonFlag
from authgate.cli.output import console, details, emit_json, errors, handle_errors, table
from authgate.http import paths

# Setting up imports the whole server (bootstrap, provisioning): inside the commands, so that
# `authgate --help` loads none of it (context.py).
if TYPE_CHECKING:
    from authgate.provisioning.apply import ApplyResult
    from authgate.provisioning.realm_file import RealmFile

DEMO_REALM = Path(__file__).resolve().parent.parent / "demo" / "realm.yaml"
WORKER_HEALTHCHECK_SECONDS = 30


@handle_errors
def init(
    admin_username: Annotated[str, typer.Option(help="Username of the first admin.")] = "admin",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", metavar="", help="Read the admin's password from stdin.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Create or upgrade the schema, create signing keys and the first admin. Safe to run again."""
    from authgate import bootstrap

    password = context.read_secret_from_stdin("admin password") if password_stdin else None
    result = bootstrap.initialize(context.services(prepares_schema=True), admin_username, password)
    if json_output:
        emit_json({
            "schema": result.schema_after, "upgraded_from": result.schema_before,
            "admin": result.admin_username, "admin_created": result.admin_created,
            "admin_password": result.admin_password,
        })
        return
    if result.schema_before != result.schema_after:
        console.print(f"schema: {result.schema_before or 'empty'} → {result.schema_after}")
    else:
        console.print(f"schema: up to date ({result.schema_after})")
    if result.admin_created and result.admin_password:
        console.print(f"admin user [bold]{result.admin_username}[/] created; "
                      f"password (shown once): [bold]{result.admin_password}[/]")
    elif result.admin_created:
        console.print(f"admin user [bold]{result.admin_username}[/] created")
    else:
        console.print(f"admin user {result.admin_username} exists; nothing changed")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the authorization server (uvicorn)."""
    _prepare_and_serve(host, port, workers)


def _issuer_follows(host: str, port: int) -> dict[str, Any]:
    """With no issuer configured, the issuer is where this server listens (not the default port 8000):
    the settings to override, in this process and (through `AppFactory`) in every worker."""
    if "issuer" in context.settings().model_fields_set:
        return {}
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else (f"[{host}]" if ":" in host else host)
    return {"issuer": f"http://{shown}:{port}"}


@handle_errors
def _prepare_and_serve(host: str, port: int, workers: int, overrides: dict[str, Any] | None = None) -> None:
    # Imported when serving, not for every command.
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from authgate import bootstrap, metrics
    from authgate.web import workers as serve_workers
    from authgate.web.app import AppFactory

    overrides = _issuer_follows(host, port) if overrides is None else overrides
    settings = context.settings()
    services = context.services(prepares_schema=True)
    bootstrap.prepare(services)
    services.database.dispose()  # workers open their own connections
    options: dict[str, Any] = {
        "factory": True, "host": host, "port": port, "workers": workers,
        "log_config": logs.config(settings.log_level, settings.log_format), "log_level": settings.log_level.lower(),
        # The access line is authgate's own (web/observe.py: route template, request id, latency).
        "access_log": False, "proxy_headers": False, "server_header": False,
        # uvicorn's 5 s: on a busy host a starting worker (imports, app start-up) took longer, was
        # killed and started again in a loop, and a restart (SIGHUP) gave up. A worker answers the
        # check from a thread of its own, so a longer bound delays only the detection of a hung one.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
    }
    # The settings overrides travel with the factory (pickled into each worker), never through os.environ.
    # uvicorn applies the log configuration in every worker process (a spawned worker has no other
    # handler); the workers' metrics share one directory that lives as long as this server.
    app = AppFactory(overrides)
    with metrics.multiprocess_directory(workers):
        if workers > 1 and serve_workers.spreads_connections():
            serve_workers.run(uvicorn.Config(app, **options))
        elif workers > 1:  # uvicorn.run takes only an import string for workers
            config = uvicorn.Config(app, **options)
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.run(app, **options)


@handle_errors
def apply(
    file: Annotated[Path, typer.Argument(help="Realm file (YAML or JSON).")],
    json_output: JsonFlag = False,
) -> None:
    """Create or update APIs, permissions, roles, users and clients from FILE: all of it, or nothing."""
    from authgate import bootstrap
    from authgate.provisioning import load_realm_file

    realm_file = load_realm_file(file)
    services = context.services(prepares_schema=True)
    bootstrap.prepare(services)
    result = _apply_with_progress(realm_file, show=not json_output)
    # After the commit: reaching a provider is no reason to hold a transaction open, nor to refuse the file.
    warnings = {alias: f"identity provider {alias!r}: {problem}; saved and marked, other sign-ins are unaffected"
                for alias, problem in services.federation.check_and_mark(result.identity_providers).items()}
    if json_output:
        emit_json({"changed": result.changed, "created": result.created, "updated": result.updated,
                   "unchanged": result.unchanged, "generated_secrets": result.generated_secrets,
                   "generated_webhook_secrets": result.generated_webhook_secrets,
                   "warnings": list(warnings.values())})
        return
    _print_result(result)
    for warning in warnings.values():
        errors.print(f"warning: {warning}", markup=False, highlight=False)


def _apply_with_progress(realm_file: object, *, show: bool) -> ApplyResult:
    from authgate.provisioning import apply_realm

    services = context.services(prepares_schema=True)
    users = len(realm_file.users)  # type: ignore[attr-defined]
    with Progress(
        TextColumn("importing users"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not show or users < 100, transient=False,
    ) as progress:
        task = progress.add_task("users", total=users)
        with services.realm(actor="authgate apply") as realm:
            return apply_realm(realm, realm_file, lambda n: progress.advance(task, n),  # type: ignore[arg-type]
                               provider_secrets=services.federation.secrets)


def _print_result(result: ApplyResult) -> None:
    from authgate.provisioning.apply import describe

    if not result.changed:
        console.print("no changes: the database already matches the file")
    table("apply", ["kind", "created", "updated", "unchanged"], describe(result))
    for client_id, secret in result.generated_secrets.items():
        console.print(f"client [bold]{client_id}[/] secret (shown once): [bold]{secret}[/]")
    for url, secret in result.generated_webhook_secrets.items():
        console.print(f"webhook {url} secret (shown once): {secret}", markup=False, highlight=False)


def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    realm: Annotated[Path, typer.Option(help="Realm file to load.")] = DEMO_REALM,
    no_serve: Annotated[bool, typer.Option(
        "--no-serve", help="Set up and print, but do not start the server.")] = False,
) -> None:
    """Set up a demo realm (the coffee shop) on the embedded database, print the logins, and serve."""
    _demo(host, port, realm, no_serve)


@handle_errors
def _demo(host: str, port: int, realm_path: Path, no_serve: bool) -> None:
    from authgate import bootstrap
    from authgate.provisioning import load_realm_file

    overrides = _issuer_follows(host, port)
    services = context.services(prepares_schema=True)
    settings = context.settings().model_copy(update=overrides)
    result = bootstrap.initialize(services)
    realm_file = load_realm_file(realm_path)
    applied = _apply_with_progress(realm_file, show=True)
    # Fresh random passwords on every demo start: nothing secret lives in the repository.
    logins = {}
    client_secrets = dict(applied.generated_secrets)
    with services.realm(actor="authgate demo") as session_realm:
        for username in [result.admin_username] + [user.username for user in realm_file.users]:
            password = secrets.token_urlsafe(12)
            session_realm.users.set_password(username, password)
            logins[username] = password
        for client in realm_file.clients:
            if client.type == "confidential" and client.client_id not in client_secrets:
                client_secrets[client.client_id] = session_realm.clients.rotate_secret(client.client_id)
    issuer = settings.issuer
    details("authgate demo", {
        "issuer": issuer,
        "discovery": f"{issuer}/.well-known/openid-configuration",
        "jwks": f"{issuer}/.well-known/jwks.json",
        "admin console": f"{issuer}/admin",
        "health": f"{issuer}/healthz",
        "database": settings.resolved_database_url,
    })
    table("demo logins (passwords are new on every start)", ["username", "password", "roles"],
          [(name, password, _roles_of(name, realm_file)) for name, password in logins.items()])
    table("demo clients (secrets are new on every start)", ["client_id", "secret"], sorted(client_secrets.items()))
    _print_next_steps(issuer, realm_file, logins, client_secrets, result.admin_username)
    if not no_serve:
        _prepare_and_serve(host, port, 1, overrides)


def _print_next_steps(issuer: str, realm_file: RealmFile, logins: dict[str, str],
                      client_secrets: dict[str, str], admin: str) -> None:
    """What to do next: the console, the public clients, and a token in one copy-paste command."""
    token_url = issuer + paths.TOKEN
    say = functools.partial(console.print, markup=False, highlight=False)
    say(f"\nnext steps\n  admin console: open {issuer}/admin and sign in as {admin} (password above)")
    say(f"  account page, for any login: {issuer}/account")
    for client in realm_file.clients:
        if client.type == "public":
            redirects = f", redirect URIs {' '.join(client.redirect_uris)}" if client.redirect_uris else ""
            say(f"  public client {client.client_id}: {' '.join(client.grant_types)}{redirects}")
    user = next((user.username for user in realm_file.users), None)
    for client in realm_file.clients:
        if client.type == "public" and "password" in client.grant_types and user:
            say(f"  an access token for {user} (password grant):")
            say("    " + shlex.join(["curl", "-s", token_url, "-d", "grant_type=password", "-d",
                                     f"client_id={client.client_id}", "-d", f"username={user}",
                                     "-d", f"password={logins[user]}"]))
            break
    for client in realm_file.clients:
        if "client_credentials" in client.grant_types and client.client_id in client_secrets:
            say(f"  an access token for the {client.client_id} client (client credentials):")
            say("    " + shlex.join(["curl", "-s", "-u", f"{client.client_id}:{client_secrets[client.client_id]}",
                                     token_url, "-d", "grant_type=client_credentials"]))
            break


def _roles_of(username: str, realm_file: object) -> str:
    from authgate import bootstrap

    for user in realm_file.users:  # type: ignore[attr-defined]
        if user.username == username:
            return ", ".join(user.roles)
    return bootstrap.ADMIN_ROLE


def register(app: typer.Typer) -> None:
    for command in (init, serve, apply, demo):
        app.command()(command)
