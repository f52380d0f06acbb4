"""The background sender: claim due messages, deliver each, record the outcome.

Claiming is one short transaction that moves each row's `next_attempt_at`
a lease ahead and counts the attempt: on PostgreSQL the rows are selected
`FOR UPDATE SKIP LOCKED`, so two replicas claiming at once take disjoint
rows; on SQLite the write transaction holds the database's one writer
lock. Delivery runs outside any transaction (no connection held while SMTP
talks). A process that dies after claiming leaves the row pending: the
lease runs out and some sender tries again — at-least-once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update

from authgate import audit
from authgate.clock import utcnow
from authgate.masterkey import MasterKeyError
from authgate.outbox.queue import Envelope, Sealer
from authgate.settings import Settings
from authgate.storage.database import Database, DatabaseUnavailable
from authgate.storage.models import OutboxMessage

logger = logging.getLogger("authgate.outbox")


class DeliveryFailed(Exception):
    """This attempt failed; `permanent` when no retry can help (the receiver refused the message for good)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Deliverer(Protocol):
    """Delivers one kind of message. Raises `DeliveryFailed`; any other exception counts as a failed attempt too."""

    def deliver(self, envelope: Envelope) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_delay: float
    max_delay: float
    lease: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.outbox_max_attempts,
            settings.outbox_retry_base,
            settings.outbox_retry_max,
            settings.outbox_lease,
        )

    def delay_after(self, attempt: int) -> float:
        """Seconds before the attempt after `attempt` (1-based): base, 2×base, 4×base … capped."""
        return float(min(self.base_delay * 2.0 ** min(attempt - 1, 40), self.max_delay))


@dataclass(frozen=True)
class RunResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed


class OutboxSender:
    """`run_once()` delivers what is due now (tests call it); `start()`/`stop()` run it on a thread, polling."""

    def __init__(
        self,
        database: Database,
        deliverers: Mapping[str, Deliverer],
        sealer: Sealer,
        policy: RetryPolicy,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 20,
        poll_interval: float = 2.0,
        on_failure: Callable[[bool], None] | None = None,
    ) -> None:
        self.database = database
        self.deliverers = deliverers
        self.sealer = sealer
        self.policy = policy
        self.clock = clock
        self.batch = batch
        self.poll_interval = poll_interval
        self.on_failure = on_failure  # told of each failed attempt, and whether it was the last (metrics)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass ------------------------------------------------------------
    def run_once(self) -> RunResult:
        """Claim up to `batch` due messages and deliver them; returns what happened."""
        sent = retried = failed = 0
        for envelope in self.claim():
            outcome = self._deliver(envelope)
            sent += outcome == "sent"
            retried += outcome == "retry"
            failed += outcome == "failed"
        return RunResult(sent, retried, failed)

    def run_until_idle(self, max_rounds: int = 100) -> RunResult:
        """`run_once` until nothing is due (bounded): every message due now has had its attempt."""
        total = RunResult()
        for _ in range(max_rounds):
            result = self.run_once()
            if result.claimed == 0:
                break
            total = RunResult(
                total.sent + result.sent,
                total.retried + result.retried,
                total.failed + result.failed,
            )
        return total

    def claim(self) -> list[Envelope]:
        now = self.clock()
        lease_end = now + timedelta(seconds=self.policy.lease)
        is_due = (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        # An idle poll only reads (on SQLite a write transaction would take the database's one writer lock).
        with self.database.reader() as session:
            if session.scalar(select(OutboxMessage.id).where(*is_due).limit(1)) is None:
                return []
        with self.database.transaction() as session:
            due = (
                select(OutboxMessage)
                .where(*is_due)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.batch)
            )
            if not self.database.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            rows = session.scalars(due).all()
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = lease_end
            session.flush()
            return [
                Envelope(
                    row.id,
                    row.message_id,
                    row.kind,
                    row.target,
                    dict(row.payload),
                    self._open(row),
                    row.attempts,
                )
                for row in rows
            ]

    def _open(self, row: OutboxMessage) -> dict[str, object]:
        try:
            return self.sealer.open(row.message_id, row.sealed)
        except (MasterKeyError, ValueError):  # another master key, or a body that is not JSON
            return {"unreadable": True}

    def _deliver(self, envelope: Envelope) -> str:
        deliverer = self.deliverers.get(envelope.kind)
        try:
            if deliverer is None:
                raise DeliveryFailed(f"no deliverer for kind {envelope.kind!r}", permanent=True)
            if envelope.secret.get("unreadable"):
                raise DeliveryFailed(
                    "the sealed message cannot be opened (wrong AUTHGATE_MASTER_KEY?)"
                )
            deliverer.deliver(envelope)
        except DeliveryFailed as failure:
            return self._failed(envelope, failure.reason, permanent=failure.permanent)
        except Exception as error:
            logger.exception("outbox: %s delivery of %s raised", envelope.kind, envelope.message_id)
            return self._failed(envelope, f"{type(error).__name__}", permanent=False)
        with self.database.transaction() as session:
            # The body (links, codes) is dropped once delivered: nothing needs it again.
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == envelope.id)
                .values(status="sent", sent_at=self.clock(), last_error=None, sealed=None)
            )
        return "sent"

    def _failed(self, envelope: Envelope, reason: str, *, permanent: bool) -> str:
        reason = reason[:500]
        final = permanent or envelope.attempt >= self.policy.max_attempts
        if self.on_failure is not None:
            self.on_failure(final)
        with self.database.transaction() as session:
            if final:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == envelope.id)
                    .values(status="failed", last_error=reason, sealed=None)
                )
                audit.record(
                    session,
                    f"{envelope.kind}.failed",
                    subject=envelope.target[:200],
                    outcome="failure",
                    message_id=envelope.message_id,
                    attempts=envelope.attempt,
                    reason=reason,
                )
            else:
                retry_at = self.clock() + timedelta(
                    seconds=self.policy.delay_after(envelope.attempt)
                )
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == envelope.id)
                    .values(next_attempt_at=retry_at, last_error=reason)
                )
        logger.warning(
            "outbox: %s %s to %s attempt %d failed%s: %s",
            envelope.kind,
            envelope.message_id,
            envelope.target,
            envelope.attempt,
            " for good" if final else "",
            reason,
        )
        return "failed" if final else "retry"

    # --- on a thread -----------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="authgate-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (a request just queued something) instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; a delivery in progress finishes (bounded by the SMTP timeout)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_until_idle(max_rounds=10)
            except DatabaseUnavailable as error:
                logger.warning("outbox: database unavailable, retrying: %s", error)
            except Exception:
                logger.exception("outbox: a pass failed")
            self._wake.wait(self.poll_interval)
            self._wake.clear()
