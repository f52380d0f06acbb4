"""Composing a message from its templates and queueing it in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from authgate.mail.templates_env import environment
from authgate.outbox import Sealer, enqueue
from authgate.settings import Settings

KIND = "mail"


class Mailer:
    def __init__(self, settings: Settings, sealer: Sealer) -> None:
        self.settings = settings
        self.sealer = sealer
        self.templates = environment(settings.email_templates_dir)

    def link(self, path: str) -> str:
        """An absolute link into this server for a message (the host from settings, never from a request)."""
        return self.settings.link_base + path

    def queue(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        now: datetime | None = None,
    ) -> str:
        """Render `template` for `to` and queue it with the caller's change; returns the outbox message_id."""
        values = {"product_name": self.settings.product_name, "to": to, **context}
        subject = " ".join(
            self.templates.get_template(f"{template}.subject.txt").render(values).split()
        )
        text = self.templates.get_template(f"{template}.txt").render(values)
        html = self.templates.get_template(f"{template}.html").render(values)
        return enqueue(
            session,
            kind=KIND,
            target=to,
            payload={"to": to, "subject": subject, "template": template},
            secret={"text": text, "html": html},
            sealer=self.sealer,
            now=now,
        )
