"""A consistent copy of the whole database while the server runs: `authgate backup --output FILE`.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the
database page by page into a new file as one consistent snapshot, while
other connections keep writing (WAL). PostgreSQL: `pg_dump --format=custom`
(a snapshot in one transaction), restored with `pg_restore`. Either copy
holds everything, signing keys included (still encrypted with the master
key: keep the master key with, but apart from, the backup).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupFailed(Exception):
    """The backup could not be written; the message says why in one line."""


def backup(database_url: str, output: Path, *, timeout: float = 3600.0) -> str:
    """Write a backup of the database at `database_url` to `output`; returns the method used."""
    if not output.parent.is_dir():
        raise BackupFailed(f"cannot write {output}: its directory does not exist")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(url.database or "", output)
        return "sqlite online backup"
    if url.get_backend_name() == "postgresql":
        _pg_dump(database_url, output, timeout)
        return "pg_dump (custom format; restore with pg_restore)"
    raise BackupFailed(f"no backup method for {url.get_backend_name()}")


def _sqlite_backup(path: str, output: Path) -> None:
    if not path or path == ":memory:" or not Path(path).exists():
        raise BackupFailed(f"no SQLite database file at {path or ':memory:'}")
    if output.resolve() == Path(path).resolve():
        raise BackupFailed("the output is the database itself")
    partial = output.with_name(output.name + ".partial")
    try:
        # Read-only source: the backup never writes to the live database.
        partial.unlink(missing_ok=True)
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as source, \
                closing(sqlite3.connect(partial)) as target:
            source.backup(target)
        os.replace(partial, output)
    except (sqlite3.Error, OSError) as error:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"cannot write {output}: {getattr(error, 'strerror', None) or error}") from None


def _pg_dump(database_url: str, output: Path, timeout: float) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupFailed("pg_dump is not installed; install the PostgreSQL client tools")
    url = make_url(database_url)
    # libpq's URL, the password handed over in the environment (not on the command line, seen by `ps`).
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    environment = {**os.environ, **({"PGPASSWORD": str(url.password)} if url.password else {})}
    try:
        subprocess.run([program, "--format=custom", "--no-owner", f"--file={output}", plain], env=environment,
                       check=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.CalledProcessError as error:
        lines = (error.stderr or "").strip().splitlines()
        raise BackupFailed(f"pg_dump failed: {lines[-1] if lines else f'exit {error.returncode}'}") from None
    except subprocess.TimeoutExpired:
        raise BackupFailed(f"pg_dump took longer than {timeout:.0f} s") from None
