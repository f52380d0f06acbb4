"""authgate audit: read the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Optional

import typer

from authgate import audit as audit_log
from authgate.cli import context
from authgate.cli.output import emit_json, fail, handle_errors, table
from authgate.clock import utcnow
from authgate.views import AuditEventView

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def parse_since(value: str | None) -> datetime | None:
    """An ISO 8601 instant, or a duration back from now: 30m, 12h, 7d."""
    if value is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return utcnow() - timedelta(seconds=int(value[:-1]) * units[value[-1]])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--since {value!r}: expected an ISO date/time or a duration like 30m, 12h, 7d") from None
    return moment if moment.tzinfo else moment.astimezone()


@handle_errors
def audit(
    since: Annotated[Optional[str], typer.Option(help="ISO time or duration back (30m, 12h, 7d).")] = None,
    user: Annotated[Optional[str], typer.Option(help="Events about this user (subject).")] = None,
    type: Annotated[Optional[str], typer.Option(help="Event type prefix, e.g. login.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    json_output: JsonFlag = False,
) -> None:
    """Show audit events, newest first."""
    with context.services().reader() as realm:
        events = [AuditEventView.of(e) for e in audit_log.query(
            realm.session, since=parse_since(since), subject=user.casefold() if user else None, type_prefix=type, limit=limit
        )]
    if json_output:
        emit_json(events)
        return
    table("audit log", ["at", "type", "outcome", "actor", "subject", "client", "ip"],
          [(e.at.isoformat(timespec="seconds"), e.type, e.outcome, e.actor, e.subject, e.client_id, e.ip) for e in events])
