"""Console pages for signing keys (list, rotate with confirmation) and the audit log (filters, older pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.responses import Response

from authgate import audit
from authgate.admin.console.view import Console
from authgate.clock import utcnow
from authgate.storage import limits
from authgate.views import AuditEventView, SigningKeyView

AUDIT_PAGE = 50


def key_list(console: Console) -> Response:
    keys = [SigningKeyView.of(key) for key in console.services.keys.list()]
    return console.render("keys.html", {"keys": sorted(keys, key=lambda k: k.created_at, reverse=True)})


def confirm_rotate(console: Console) -> Response:
    return console.render("confirm.html", {
        "title": "Rotate the signing keys?", "action": "/admin/keys/rotate", "cancel": "/admin/keys",
        "message": "New keys sign from now on. The current ones stay published until the tokens they signed expire, "
                   "so nothing in use breaks.",
        "button": "Rotate keys",
    })


def rotate(console: Console) -> Response:
    kids = console.services.keys.rotate(actor=console.caller.actor)
    return console.done("/admin/keys", f"New signing keys: {', '.join(kids)}.")


def audit_log(console: Console) -> Response:
    """Newest first; `before` is the last id shown (keyset), so older pages stay cheap on a long log."""
    filters = {"since": console.value("since", 40).strip(), "subject": console.value("subject", 200).strip(),
               "type": console.value("type", 60).strip()}
    before = console.number("before", limits.AUDIT_EVENT_ID)
    problem, since = None, None
    if filters["since"]:
        since = _since(filters["since"])
        if since is None:
            problem = "Since: give a date and time such as 2024-05-01T12:00 (UTC)."
    with console.caller.reader() as realm:
        events = [AuditEventView.of(event) for event in audit.query(
            realm.session, since=since, subject=filters["subject"] or None, type_prefix=filters["type"] or None,
            before_id=before, limit=AUDIT_PAGE,
        )]
    older = None
    if len(events) == AUDIT_PAGE:
        older = "?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": events[-1].id})
    return console.render("audit.html", {"events": events, "filters": filters, "older_href": older,
                                         "paged": before is not None, "problem": problem,
                                         "presets": presets(), "detail_lines": audit.detail_lines})


def _since(text: str) -> datetime | None:
    """The form's date-time (a datetime-local field), read as UTC."""
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def presets() -> list[tuple[str, str]]:
    now = utcnow()
    spans = (
        ("Last hour", timedelta(hours=1)), ("Last 24 hours", timedelta(days=1)), ("Last 7 days", timedelta(days=7))
    )
    return [(label, (now - delta).strftime("%Y-%m-%dT%H:%M")) for label, delta in spans]
