"""export and backup: the realm as code, and the whole database as a file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from authgate.cli import context
from authgate.cli.options import JsonFlag
from authgate.cli.output import console, emit_json, errors, fail, handle_errors, table

LARGE_REALM = 1000  # users: from here on, export shows a progress bar


@handle_errors
def export(
    include_secrets: Annotated[bool, typer.Option(
        "--include-secrets", help="Add password hashes, client secret digests and webhook secrets.")] = False,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to FILE (default: standard output).")] = None,
) -> None:
    """Write the realm (APIs, roles, users, clients, webhooks) as a file `authgate apply` accepts."""
    # Imported here, not at start-up: `authgate --help` loads no domain code (context.py).
    from authgate.provisioning.export import count_users, export_realm, section_exporters, to_yaml

    services = context.services()
    with services.reader() as realm:
        users = count_users(realm.session)
        with Progress(TextColumn("exporting users"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=errors, disable=users < LARGE_REALM or output is None, transient=True) as progress:
            task = progress.add_task("users", total=users)
            sections = section_exporters(lambda: services.master_key, lambda n: progress.advance(task, n))
            realm_data = export_realm(realm.session, sections, include_secrets=include_secrets)
    document = to_yaml(realm_data)
    if output is None:
        sys.stdout.write(document)
        return
    _write(output, document, secret=include_secrets)
    table(f"exported to {output}", ["kind", "entries"], [(name, len(realm_data.get(name, []))) for name, _ in sections])
    if include_secrets:
        console.print(f"{output} holds secrets (password hashes, webhook secrets): keep it like a backup.")


def _write(output: Path, document: str, *, secret: bool) -> None:
    """Write the whole file or nothing (a temporary file renamed over); with secrets, readable by the owner only."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(document)
        os.replace(partial, output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise fail(f"cannot write {output}: {error.strerror or error}") from None


@handle_errors
def backup(
    output: Annotated[Path, typer.Option("--output", "-o", help="The backup file to write.")],
    json_output: JsonFlag = False,
) -> None:
    """Back up the whole database while the server runs (SQLite online backup, or pg_dump)."""
    from authgate.storage.backup import BackupFailed
    from authgate.storage.backup import backup as backup_database

    settings = context.settings()
    context.services()  # the database must exist and be current
    try:
        method = backup_database(settings.resolved_database_url, output)
    except BackupFailed as error:
        raise fail(str(error)) from None
    if json_output:
        emit_json({"output": str(output), "method": method, "bytes": output.stat().st_size})
        return
    console.print(f"backed up {context.database_name()} to {output} ({method}, {output.stat().st_size} bytes)")


def register(app: typer.Typer) -> None:
    for command in (export, backup):
        app.command()(command)
