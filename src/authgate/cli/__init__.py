"""The `authgate` command."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from authgate.cli import access, audit, clients, data, keys, mail, purge, setup, users

app = typer.Typer(
    name="authgate",
    help="authgate: an OpenID Connect server with users, roles and permissions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(asked: bool) -> None:
    from importlib.metadata import PackageNotFoundError, version

    if asked:
        try:
            typer.echo(f"authgate {version('authgate')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("authgate (version unknown: not installed)")
        raise typer.Exit()


@app.callback()
def root(
    show_version: Annotated[bool, typer.Option(
        "--version", metavar="", is_eager=True, callback=_print_version, help="Print the version and exit.",
    )] = False,
) -> None:
    """authgate: an OpenID Connect server with users, roles and permissions."""


setup.register(app)
data.register(app)
app.add_typer(users.app, name="user")
app.add_typer(access.roles, name="role")
app.add_typer(access.apis, name="api")
app.add_typer(clients.app, name="client")
app.add_typer(keys.app, name="keys")
app.add_typer(mail.app, name="mail")
app.command("audit")(audit.audit)
app.command("purge")(purge.purge)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
