"""The `authgate` command."""

from __future__ import annotations

import logging

import typer

from authgate.cli import access, audit, clients, keys, mail, setup, users

app = typer.Typer(
    name="authgate",
    help="authgate: an OpenID Connect server with users, roles and permissions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
setup.register(app)
app.add_typer(users.app, name="user")
app.add_typer(access.roles, name="role")
app.add_typer(access.apis, name="api")
app.add_typer(clients.app, name="client")
app.add_typer(keys.app, name="keys")
app.add_typer(mail.app, name="mail")
app.command("audit")(audit.audit)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
