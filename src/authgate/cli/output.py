"""How the CLI speaks: Rich tables on a terminal, JSON with --json, one line and a non-zero exit on errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(soft_wrap=True)
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

# Exit codes: 1 for a refused request (bad input, not found), 2 for usage (Typer's), 3 for an outage.
EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 3


def fail(message: str, code: int = EXIT_REFUSED) -> typer.Exit:
    _error_line(message)
    return typer.Exit(code)


def _error_line(message: str) -> None:
    # The message may quote what was typed or found in a file: printed as text, never as Rich markup.
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail_all(problems: Sequence[str], outcome: str) -> typer.Exit:
    """Every problem on a line of its own; several end with how many there were."""
    for problem in problems[:-1]:
        _error_line(problem)
    if len(problems) > 1:
        _error_line(problems[-1])
        return fail(f"{len(problems)} problems; {outcome}")
    return fail(problems[-1] if problems else outcome)


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Translate domain errors into one line on stderr and an exit code; never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (typer.Exit, typer.Abort):  # the command's own way out, already said: nothing to import for it
            raise
        except Exception as error:
            exit_ = _translated(error)
            if exit_ is None:
                raise
            raise exit_ from None

    return wrapper


def _translated(error: Exception) -> typer.Exit | None:
    """The line and exit code for a domain error or an outage; None for anything else (a bug)."""
    # Imported once a command has failed, not at start-up: `authgate --help` loads no server code.
    from authgate.errors import DomainError
    from authgate.masterkey import MasterKeyError
    from authgate.provisioning.realm_file import RealmFileError
    from authgate.storage.database import DatabaseUnavailable

    if isinstance(error, DomainError):
        return fail(f"{error.message} ({error.code})")
    if isinstance(error, RealmFileError):
        return fail_all(error.problems, "nothing was applied")
    if isinstance(error, DatabaseUnavailable):
        return fail("the database is unavailable; check AUTHGATE_DATABASE_URL and that it is running",
                    EXIT_UNAVAILABLE)
    if isinstance(error, MasterKeyError):
        return fail(str(error))
    return None


def emit_json(data: Any) -> None:
    from pydantic import BaseModel  # loaded by then (the views are models); not for `authgate --help`

    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    elif isinstance(data, list) and all(isinstance(item, BaseModel) for item in data):
        text = json.dumps([item.model_dump(mode="json") for item in data], indent=2)
    else:
        text = json.dumps(data, indent=2, default=str)
    sys.stdout.write(text + "\n")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*[_cell(value) for value in row])
    console.print(grid)


def details(title: str, fields: dict[str, Any]) -> None:
    grid = Table(title=title, title_justify="left", show_header=False, box=None)
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in fields.items():
        grid.add_row(key, _cell(value))
    console.print(grid)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "\n".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)
