"""The emails Parlour writes: an agent's reply in a thread, and a notification."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from parlour.mail.addresses import formatted
from parlour.mail.service import OutboundFile, OutboundReply


def new_message_id(domain: str) -> str:
    """A fresh Message-ID on our domain, without its angle brackets."""
    return make_msgid(domain=domain or "parlour.invalid").strip("<>")


def _attach(message: EmailMessage, files: list[tuple[OutboundFile, bytes]]) -> None:
    for f, data in files:
        maintype, _, subtype = f.content_type.partition("/")
        message.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=f.filename,
        )


def reply_email(
    reply: OutboundReply, files: list[tuple[OutboundFile, bytes]], *, now: datetime
) -> EmailMessage:
    """An agent's message as an email in the customer's thread: our Message-ID, the ids it
    answers, and the conversation's reply address as Reply-To."""
    message = EmailMessage()
    message["From"] = formatted(reply.from_address, reply.from_name)
    message["To"] = reply.to_address
    message["Reply-To"] = reply.reply_to
    message["Subject"] = reply.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{reply.header_id}>"
    if reply.in_reply_to:
        message["In-Reply-To"] = f"<{reply.in_reply_to}>"
    if reply.references:
        message["References"] = " ".join(f"<{r}>" for r in reply.references)
    message.set_content(reply.body or " ")
    _attach(message, files)
    return message


def notification_email(
    *, from_address: str, to_address: str, subject: str, body: str, header_id: str, now: datetime
) -> EmailMessage:
    """A notification (a reminder): not part of any thread, marked as sent automatically."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to_address
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{header_id}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message
