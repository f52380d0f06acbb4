"""Delivering queued mail: over SMTP (`AUTHGATE_SMTP_URL`), or into the server log when none is set."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from authgate.outbox import DeliveryFailed, Envelope
from authgate.settings import Settings

logger = logging.getLogger("authgate.mail")


def build_message(envelope: Envelope, *, sender: str, domain: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives, and a Message-ID that is the same at every attempt."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = envelope.payload["to"]
    message["Subject"] = envelope.payload["subject"]
    message["Date"] = formatdate(usegmt=True)
    # RFC 5322 §3.6.4: one id per message; retries of the same outbox row reuse it, so duplicates can be dropped.
    message["Message-ID"] = f"<{envelope.message_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no auto-replies, please
    message.set_content(str(envelope.secret.get("text", "")))
    if envelope.secret.get("html"):
        message.add_alternative(str(envelope.secret["html"]), subtype="html")
    return message


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "plain" | "starttls" | "tls"
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}[parts.scheme]
        default_port = {"plain": 25, "starttls": 587, "tls": 465}[security]
        return cls(
            parts.hostname or "localhost",
            parts.port or default_port,
            security,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )


class SmtpDeliverer:
    """One SMTP connection per message, every exchange bounded by `smtp_timeout`."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_url is not None
        self.target = SmtpTarget.parse(settings.smtp_url.get_secret_value())
        self.sender = settings.email_from
        self.domain = urlsplit(settings.issuer).hostname or "localhost"
        self.timeout = settings.smtp_timeout

    def deliver(self, envelope: Envelope) -> None:
        message = build_message(envelope, sender=self.sender, domain=self.domain)
        try:
            with self._connect() as smtp:
                if self.target.username is not None:
                    smtp.login(self.target.username, self.target.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            # RFC 5321 §4.2.1: 5yz is a permanent refusal; 4yz may pass later.
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryFailed(
                f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailed(
                f"SMTP {error.smtp_code}",
                permanent=error.smtp_code >= 500
                and not isinstance(error, smtplib.SMTPAuthenticationError),
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"SMTP server unreachable ({type(error).__name__})") from None

    def _connect(self) -> smtplib.SMTP:
        host, port, timeout = self.target.host, self.target.port, self.timeout
        if self.target.security == "tls":
            return smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if self.target.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


class LogDeliverer:
    """No SMTP configured: the whole message goes to the log, so the flows work on a laptop."""

    def __init__(self, settings: Settings) -> None:
        self.sender = settings.email_from
        self.domain = urlsplit(settings.issuer).hostname or "localhost"

    def deliver(self, envelope: Envelope) -> None:
        message = build_message(envelope, sender=self.sender, domain=self.domain)
        logger.warning(
            "mail NOT delivered (no AUTHGATE_SMTP_URL); it reads:\n%s\n%s",
            "".join(f"{key}: {value}\n" for key, value in message.items()),
            envelope.secret.get("text", ""),
        )


def deliverer_for(settings: Settings) -> SmtpDeliverer | LogDeliverer:
    return SmtpDeliverer(settings) if settings.smtp_url is not None else LogDeliverer(settings)
