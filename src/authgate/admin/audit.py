"""/audit: the audit log, newest first, filtered and keyset-paginated by id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Query

from authgate import audit
from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.schemas import DECIMAL, PRINTABLE, Page, QueryDateTime
from authgate.errors import InvalidInput
from authgate.storage import limits
from authgate.views import AuditEventView

router = APIRouter(prefix="/audit", tags=["audit"], route_class=AdminRoute)
# The audit_events.id column's range: PostgreSQL refuses to compare it with a larger number.
EventId = Annotated[int, Ge(1), Le(limits.AUDIT_EVENT_ID), DECIMAL]
Limit = Annotated[int, Ge(1), Le(500), DECIMAL]


@router.get("", openapi_extra=requires("audit:read"), summary="Read the audit log")
def list_events(
    admin: Admin,
    since: Annotated[
        QueryDateTime | None, Query(description="Only events at or after this instant (RFC 3339).")
    ] = None,
    subject: Annotated[str | None, Query(
        max_length=limits.AUDIT_SUBJECT, pattern=PRINTABLE,
        description="Events about this subject (a username, client id …).")] = None,
    type: Annotated[str | None, Query(
        max_length=limits.AUDIT_TYPE, pattern=PRINTABLE,
        description="Event type prefix, e.g. `login.` or `admin.change`.")] = None,
    before: Annotated[EventId | None, Query(description="Cursor: events older than this id.")] = None,
    limit: Annotated[Limit, Query()] = 100,
) -> Page[AuditEventView]:
    since = _utc(since)
    with admin.reader() as realm:
        events = [AuditEventView.of(event) for event in audit.query(
            realm.session, since=since, subject=subject, type_prefix=type, before_id=before, limit=limit
        )]
    return Page[AuditEventView](items=events, next_cursor=str(events[-1].id) if len(events) == limit else None)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC instant in range
        raise InvalidInput("since is out of range.", field="since") from None
