"""Options every command spells the same way, and the confirmation that destructive commands ask for.

The verbs are one scheme across user, role, api and client: `add` and `remove` for whole things,
`--add-X` / `--remove-X` on `change` for what a thing holds, `--enable` / `--disable`, and `--yes`
for anything that cannot be undone. Metavars name what to type (ROLE, API=PERMISSION, N).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from authgate.cli.output import fail

JsonFlag = Annotated[bool, typer.Option("--json", metavar="", help="Print JSON.")]
YesFlag = Annotated[bool, typer.Option(
    "--yes", "-y", metavar="", help="Do it without asking (needed without a terminal).")]
EnableFlag = Annotated[bool | None, typer.Option("--disable/--enable", metavar="", help="Disable or enable.")]
# The old spelling, still accepted, not shown.
LegacyEnableFlag = Annotated[bool | None, typer.Option("--disabled/--enabled", hidden=True)]
Many = list[str] | None


def either(value: bool | None, legacy: bool | None) -> bool | None:
    """The new flag, or the old spelling when only that was given."""
    return value if value is not None else legacy


def confirm(action: str, yes: bool) -> None:
    """Go ahead with --yes; otherwise ask on a terminal, and refuse where nobody can answer.

    `action` reads as a sentence start: "Delete user zoe".
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail(f"{action}: not confirmed, and there is no terminal to ask on; pass --yes to go ahead")
    typer.confirm(f"{action}?", abort=True)
