"""authgate keys …: signing keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from authgate.cli import context
from authgate.cli.options import JsonFlag, YesFlag, confirm
from authgate.cli.output import console, emit_json, handle_errors, table
from authgate.cli.paging import AllFlag, LimitOption, Page, PageRequest, show

if TYPE_CHECKING:
    from authgate.views import SigningKeyView

app = typer.Typer(help="Signing keys.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_keys(limit: LimitOption = None, all_: AllFlag = False, json_output: JsonFlag = False) -> None:
    """List signing keys: the ones signing, and retired ones still published."""
    from authgate.views import SigningKeyView  # here, not at start-up: `authgate --help` loads no domain code

    request = PageRequest.of(limit, all_, json_output)
    views = [SigningKeyView.of(key) for key in context.services().keys.list()]
    show(Page.cut(views, request), request, what="keys", json_output=json_output, render=_table)


def _table(views: list[SigningKeyView]) -> None:
    table("signing keys", ["kid", "alg", "state", "created", "leaves JWKS"],
          [(v.kid, v.alg, v.state, f"{v.created_at:%Y-%m-%d %H:%M}",
            v.unpublish_at and f"{v.unpublish_at:%Y-%m-%d %H:%M}") for v in views])


@app.command("rotate")
@handle_errors
def rotate(yes: YesFlag = False, json_output: JsonFlag = False) -> None:
    """New keys sign at once; old ones stay in the JWKS until their tokens have expired."""
    confirm("Rotate the signing keys (new keys sign from now on; the old ones stay published until their tokens "
            "expire)", yes)
    kids = context.services().keys.rotate(actor="cli")
    if json_output:
        emit_json({"new_kids": kids})
    else:
        console.print("new signing keys: " + ", ".join(kids))
