"""authgate audit: read the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from authgate.cli import context
from authgate.cli.options import JsonFlag
from authgate.cli.output import fail, handle_errors, table
from authgate.cli.paging import AllFlag, LimitOption, Page, PageRequest, show
from authgate.clock import utcnow

# The audit log and its views are imported inside the command: `authgate --help` loads no domain code.
if TYPE_CHECKING:
    from authgate.views import AuditEventView

FETCH_BATCH = 1000  # --all reads the log in keyset pages of this many


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
    since: Annotated[str | None, typer.Option(metavar="WHEN", help="ISO time or duration back (30m, 12h, 7d).")] = None,
    user: Annotated[str | None, typer.Option(
        metavar="USERNAME", help="Events about this user or done by them (not a role or client of that name).")] = None,
    role: Annotated[str | None, typer.Option(metavar="ROLE", help="Admin changes to this role.")] = None,
    type: Annotated[str | None, typer.Option(metavar="PREFIX", help="Event type prefix, e.g. login.")] = None,
    limit: LimitOption = None,
    all_: AllFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """Show audit events, newest first."""
    from authgate import audit as audit_log
    from authgate.views import AuditEventView

    request = PageRequest.of(limit, all_, json_output)
    moment, username = parse_since(since), user.strip().casefold() if user else None
    events: list[AuditEventView] = []
    with context.services().reader() as realm:
        before: int | None = None
        while True:
            want = request.fetch() or FETCH_BATCH
            batch = audit_log.query(realm.session, since=moment, user=username, role=role, type_prefix=type,
                                    before_id=before, limit=want)
            events.extend(AuditEventView.of(event) for event in batch)
            if request.size is not None or len(batch) < want:
                break
            before = batch[-1].id
    show(Page.cut(events, request), request, what="events", json_output=json_output, render=_table)


def _table(events: list[AuditEventView]) -> None:
    from authgate import audit as audit_log

    table("audit log", ["at", "type", "outcome", "actor", "subject", "client", "ip", "details"],
          [(e.at.isoformat(timespec="seconds"), e.type, e.outcome, e.actor, e.subject, e.client_id, e.ip,
            "\n".join(audit_log.detail_lines(e.detail)) or None) for e in events])
