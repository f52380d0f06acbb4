"""authgate keys …: signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

from authgate.cli import context
from authgate.cli.output import console, emit_json, handle_errors, table
from authgate.clock import aware, utcnow

app = typer.Typer(help="Signing keys.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _state(retired_at: object, unpublish_at: object) -> str:
    if retired_at is None:
        return "signing"
    if unpublish_at is not None and aware(unpublish_at) <= utcnow():  # type: ignore[arg-type]
        return "expired"
    return "published"


@app.command("list")
@handle_errors
def list_keys(json_output: JsonFlag = False) -> None:
    """List signing keys: the ones signing, and retired ones still published."""
    keys = context.services().keys.list()
    rows = [
        {"kid": k.kid, "alg": k.alg, "state": _state(k.retired_at, k.unpublish_at), "created_at": aware(k.created_at),
         "retired_at": k.retired_at and aware(k.retired_at), "unpublish_at": k.unpublish_at and aware(k.unpublish_at)}
        for k in keys
    ]
    if json_output:
        emit_json(rows)
        return
    table("signing keys", ["kid", "alg", "state", "created", "leaves JWKS"],
          [(r["kid"], r["alg"], r["state"], r["created_at"], r["unpublish_at"]) for r in rows])


@app.command("rotate")
@handle_errors
def rotate(json_output: JsonFlag = False) -> None:
    """New keys sign at once; old ones stay in the JWKS until their tokens have expired."""
    services = context.services()
    kids = services.keys.rotate(actor="cli")
    if json_output:
        emit_json({"new_kids": kids})
    else:
        console.print("new signing keys: " + ", ".join(kids))
