"""authgate keys …: signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

from authgate.cli import context
from authgate.cli.output import console, emit_json, handle_errors, table
from authgate.views import SigningKeyView

app = typer.Typer(help="Signing keys.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
@handle_errors
def list_keys(json_output: JsonFlag = False) -> None:
    """List signing keys: the ones signing, and retired ones still published."""
    views = [SigningKeyView.of(key) for key in context.services().keys.list()]
    if json_output:
        emit_json(views)
        return
    table("signing keys", ["kid", "alg", "state", "created", "leaves JWKS"],
          [(v.kid, v.alg, v.state, f"{v.created_at:%Y-%m-%d %H:%M}",
            v.unpublish_at and f"{v.unpublish_at:%Y-%m-%d %H:%M}") for v in views])


@app.command("rotate")
@handle_errors
def rotate(json_output: JsonFlag = False) -> None:
    """New keys sign at once; old ones stay in the JWKS until their tokens have expired."""
    kids = context.services().keys.rotate(actor="cli")
    if json_output:
        emit_json({"new_kids": kids})
    else:
        console.print("new signing keys: " + ", ".join(kids))
