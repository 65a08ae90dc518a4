"""Helpers of the email tests: a local SMTP sink, sending over real SMTP, reading threads."""

from __future__ import annotations

import asyncio
import smtplib
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select

from parlour.auth.principal import Principal
from parlour.messages import service as messages
from parlour.messages.schemas import MessageRead
from parlour.models.email import EmailThread
from parlour.models.message import Message
from parlour.models.ticket import Ticket
from parlour.runtime import Runtime
from tests.factories import auth

WEBHOOK_SECRET = "email-webhook-secret-long-enough-for-the-check"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Sink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it is sent, or refuses it with
    `refuse_with` (e.g. "550 5.1.1 No such user") while that is set."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse_with: str | None = None
        self.port = 0
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_with:
            return self.refuse_with
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="sink.test", decode_data=False), "127.0.0.1", 0
        )
        sockets: Any = self._server.sockets
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"the sink got {len(self.received)} of {count}"
            await asyncio.sleep(0.05)
        return self.received


def _smtp(port: int, msg: EmailMessage, rcpts: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg, to_addrs=rcpts)


async def smtp_send(rt: Runtime, msg: EmailMessage, rcpts: list[str] | None = None) -> None:
    """Send `msg` to the node's listener with smtplib (in a thread: the listener serves on
    this test's event loop)."""
    port = rt.smtp_listener.port
    assert port is not None, "the SMTP listener is not running"
    to = rcpts if rcpts is not None else [str(msg["To"])]
    await asyncio.to_thread(_smtp, port, msg, to)


def mail(
    *,
    sender: str = "Ann Smith <ann@example.com>",
    to: str = "support@acme.example",
    subject: str = "My kettle is broken",
    body: str = "It stopped heating this morning.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    return msg


async def email_channel(
    client: httpx.AsyncClient,
    rt: Runtime,
    admin: Principal,
    address: str = "support@acme.example",
    display_name: str = "Acme Support",
) -> str:
    """An email channel account made through the API, its id."""
    r = await client.post(
        "/api/v1/channels",
        json={"kind": "email", "address": address, "display_name": display_name},
        headers=auth(rt, admin),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def post_email(
    client: httpx.AsyncClient,
    raw: bytes,
    *,
    secret: str | None = WEBHOOK_SECRET,
    to: list[str] | None = None,
) -> httpx.Response:
    headers = {"Content-Type": "message/rfc822"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return await client.post(
        "/api/v1/webhooks/email", content=raw, headers=headers, params={"to": to or []}
    )


async def threads(rt: Runtime, tenant_id: str | None = None) -> list[EmailThread]:
    async with rt.uow(write=False) as tx:
        query = select(EmailThread).order_by(EmailThread.created_at)
        if tenant_id is not None:
            query = query.where(EmailThread.tenant_id == tenant_id)
        return list(await tx.session.scalars(query))


async def count_messages(rt: Runtime, channel: str = "email") -> int:
    async with rt.uow(write=False) as tx:
        found = await tx.session.scalar(
            select(func.count()).select_from(Message).where(Message.channel == channel)
        )
        return int(found or 0)


async def history(rt: Runtime, tenant_id: str, conversation_id: str) -> list[MessageRead]:
    """The conversation's messages other than system ones, oldest first."""
    async with rt.uow(write=False) as tx:
        page = await messages.list_messages(
            tx, Principal.system_actor(tenant_id), conversation_id=conversation_id, limit=200
        )
    return [m for m in page.messages if m.kind != "system"]


async def ticket_of(rt: Runtime, conversation_id: str) -> Ticket | None:
    async with rt.uow(write=False) as tx:
        return await tx.session.scalar(
            select(Ticket).where(Ticket.conversation_id == conversation_id)
        )
