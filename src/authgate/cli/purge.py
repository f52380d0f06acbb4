"""authgate purge: delete what can no longer be used (expired sessions, tokens, codes; old outbox messages).

Safe from cron while the server serves: each kind is one DELETE in a transaction of its own, of rows no
request can use any more, and running it again removes nothing new. What counts as expired is each owning
module's rule; this command only asks each of them in turn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from authgate.cli import context
from authgate.cli.options import JsonFlag
from authgate.cli.output import console, emit_json, handle_errors, table
from authgate.clock import utcnow

# The owning modules are imported inside the command: `authgate --help` loads no domain code.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from authgate.services import Services

ACTOR = "cli"
Purge = Callable[["Session", datetime], int]


def _kinds(services: Services) -> dict[str, Purge]:
    """Each kind of row, and how its owner purges it as of a moment."""
    from authgate.accounts import email_tokens, mfa, passkeys
    from authgate.admin.console import sessions as console_sessions
    from authgate.federation import attempts
    from authgate.http import sessions as browser_sessions
    from authgate.oauth2 import authorization_codes
    from authgate.outbox import queue

    oauth2 = services.oauth2
    retention = timedelta(days=services.settings.outbox_retention_days)
    return {
        "refresh_tokens": lambda session, _now: oauth2.refresh_tokens.purge(session),  # its own clock
        "revoked_access_tokens": oauth2.revocations.purge,
        "authorization_codes": lambda session, now: authorization_codes.purge(
            oauth2.authorization_codes, session, now),
        "browser_sessions": browser_sessions.purge_expired,
        "console_sessions": console_sessions.purge_expired,
        "email_tokens": email_tokens.purge_expired,
        "passkey_challenges": passkeys.purge_expired_challenges,
        "pending_logins": mfa.purge_expired,
        "federation_attempts": attempts.purge_expired,
        "outbox_messages": lambda session, now: queue.purge_finished(session, older_than=now - retention),
    }


def purge_all(services: Services, now: datetime) -> dict[str, int]:
    """Purge every kind, each in its own transaction; one audit event says what went (when anything did)."""
    from authgate import audit

    removed: dict[str, int] = {}
    for kind, purge in _kinds(services).items():
        with services.database.transaction() as session:
            removed[kind] = purge(session, now)
    if any(removed.values()):
        audit.record_now(services.database, audit.MAINTENANCE_PURGED, actor=ACTOR, **removed)
    return removed


@handle_errors
def purge(json_output: JsonFlag = False) -> None:
    """Delete expired sessions, tokens, codes and challenges, and outbox messages past
    AUTHGATE_OUTBOX_RETENTION_DAYS. Safe to run from cron while the server serves."""
    removed = purge_all(context.services(), utcnow())
    if json_output:
        emit_json({"removed": removed})
        return
    table("purged", ["kind", "removed"], [(kind.replace("_", " "), count) for kind, count in removed.items()])
    console.print(f"{sum(removed.values())} row(s) removed")
