"""authgate mail …: the outbox (list, show, deliver now)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from authgate.cli import context
from authgate.cli.options import JsonFlag
from authgate.cli.output import details, emit_json, fail, handle_errors, table
from authgate.cli.paging import AllFlag, LimitOption, Page, PageRequest, show

# The outbox is imported inside the commands: `authgate --help` loads no domain code (context.py).
if TYPE_CHECKING:
    from authgate.outbox import OutboxView

app = typer.Typer(help="See and deliver queued email.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_messages(
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="pending, sent or failed.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="EMAIL", help="Only messages to this address.")
    ] = None,
    limit: LimitOption = None,
    all_: AllFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """List queued, sent and failed messages, newest first."""
    from authgate import outbox
    from authgate.outbox.queue import STATUSES

    if status is not None and status not in STATUSES:
        raise fail(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    request = PageRequest.of(limit, all_, json_output)
    with context.services().reader() as realm:
        rows = outbox.list_messages(realm.session, status=status, target=to, limit=request.fetch())
    show(Page.cut(rows, request), request, what="messages", json_output=json_output, render=_table)


def _table(rows: list[OutboxView]) -> None:
    table(
        "outbox",
        ["message id", "to", "subject", "status", "attempts", "last error", "created"],
        [
            (r.message_id, r.target, r.subject, r.status, r.attempts, r.last_error, r.created_at)
            for r in rows
        ],
    )


@app.command("show")
@handle_errors
def show_message(
    message_id: Annotated[
        str, typer.Argument(metavar="MESSAGE_ID", help="From `authgate mail list`.")
    ],
    json_output: JsonFlag = False,
) -> None:
    """One message's delivery state (never its body)."""
    from authgate import outbox

    with context.services().reader() as realm:
        found = outbox.get_message(realm.session, message_id.strip())
    if found is None:
        raise fail(f"message {message_id} does not exist (not_found)")
    if json_output:
        emit_json(dataclasses.asdict(found))
        return
    details(
        f"message {found.message_id}",
        {k: v for k, v in dataclasses.asdict(found).items() if k != "message_id"},
    )


@app.command("deliver")
@handle_errors
def deliver(json_output: JsonFlag = False) -> None:
    """Deliver what is due now, in this process (a running server does this by itself)."""
    result = context.services().outbox.run_until_idle()
    if json_output:
        emit_json(dataclasses.asdict(result))
        return
    typer.echo(f"{result.sent} sent, {result.retried} to retry, {result.failed} failed")
