"""Sending mail over SMTP with aiosmtplib, from the `PARLOUR_SMTP_*` settings.

A refusal the server states as permanent (a 5xx reply: an unknown mailbox, a rejected sender,
failed authentication) is a `PermanentSmtpError`, so the job stops retrying; anything else (no
connection, a timeout, a 4xx "try later") is left to the job's retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from parlour.config import Settings


class PermanentSmtpError(Exception):
    """The SMTP server refused the message for good."""


@dataclass(frozen=True, slots=True)
class SmtpSender:
    host: str
    port: int
    username: str
    password: str
    tls: str  # none, starttls or tls
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender | None:
        """The configured sender, or None when outbound SMTP is not set up."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the SMTP server (its From and To/Cc name the envelope)."""
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                use_tls=self.tls == "tls",
                start_tls=self.tls == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusals = "; ".join(f"{e.code} {e.message}" for e in exc.recipients)
            raise PermanentSmtpError(f"the SMTP server refused the recipient: {refusals}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                # The server's own words (never our credentials) tell the admin what to fix.
                raise PermanentSmtpError(
                    f"the SMTP server refused the message: {exc.code} {exc.message}"
                ) from None
            raise
