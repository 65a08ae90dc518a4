"""Email over real SMTP on loopback: smtplib to the node's listener, the agent's reply to a
local SMTP sink (an aiosmtpd server in the test), on SQLite and PostgreSQL."""

from __future__ import annotations

import smtplib
import socket

import httpx
import pytest

from parlour.mail.listener import SmtpListener
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.factories import auth, make_tenant, make_user
from tests.mail.support import (
    PDF,
    Sink,
    count_messages,
    email_channel,
    history,
    mail,
    smtp_send,
    threads,
    ticket_of,
)


async def test_a_mail_threads_and_the_agent_reply_carries_the_thread(
    runtime: Runtime, client: httpx.AsyncClient, sink: Sink
) -> None:
    tenant_id = await make_tenant(runtime)
    admin = await make_user(runtime, Role.admin)
    agent = await make_user(runtime, Role.agent)
    await email_channel(client, runtime, admin)

    # 1. A customer writes: multipart, an attachment, and a quote of an older mail.
    first = mail(
        message_id="<first@mail.example>",
        body="My kettle stopped heating.\n\nOn Mon, 30 Nov 2026, Shop <shop@x.example> wrote:\n"
        "> Thanks for your order\n",
    )
    first.add_attachment(PDF, maintype="application", subtype="pdf", filename="receipt.pdf")
    await smtp_send(runtime, first)

    [thread] = await threads(runtime)
    assert thread.tenant_id == tenant_id
    assert thread.contact_address == "ann@example.com"
    [inbound] = await history(runtime, tenant_id, thread.conversation_id)
    assert inbound.body == "My kettle stopped heating."
    assert inbound.channel == "email"
    assert [a["filename"] for a in inbound.attachments] == ["receipt.pdf"]
    assert inbound.attachments[0]["content_type"] == "application/pdf"
    ticket = await ticket_of(runtime, thread.conversation_id)
    assert ticket is not None and ticket.contact_email == "ann@example.com"
    assert ticket.subject == "My kettle is broken"

    # 2. The agent joins and replies: the reply reaches the sink with the thread's headers.
    conversation = thread.conversation_id
    r = await client.post(
        f"/api/v1/conversations/{conversation}/join", headers=auth(runtime, agent)
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"body": "Please try the reset button.", "client_msg_id": "r1"},
        headers=auth(runtime, agent),
    )
    assert r.status_code in (200, 201), r.text
    reply_id = r.json()["id"]
    [out] = await sink.wait_for(1)
    email = out.message
    assert out.rcpt_tos == ["ann@example.com"]
    assert email["In-Reply-To"] == "<first@mail.example>"
    assert email["References"] == "<first@mail.example>"
    assert email["Subject"] == "Re: My kettle is broken"
    assert email["Reply-To"] == f"support+{thread.reply_token}@acme.example"
    assert str(email["From"]) == "Acme Support <support@acme.example>"
    our_id = str(email["Message-ID"])
    assert our_id.startswith("<") and our_id.endswith("@acme.example>")
    body = email.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Please try the reset button."
    messages = await history(runtime, tenant_id, conversation)
    sent = next(m for m in messages if m.id == reply_id)
    assert (sent.channel, sent.delivery_status) == ("email", "sent")

    # 3. The customer answers the reply (In-Reply-To our id): the same conversation.
    await smtp_send(
        runtime,
        mail(
            subject="Re: My kettle is broken",
            body="That worked!\n\n> Please try the reset button.",
            message_id="<second@mail.example>",
            in_reply_to=our_id,
            references=f"<first@mail.example> {our_id}",
        ),
    )
    # 4. And writes to the reply address, with no threading headers at all: the same one.
    await smtp_send(
        runtime,
        mail(
            to=email["Reply-To"],
            subject="one more thing",
            body="Also the light is off.",
            message_id="<third@mail.example>",
        ),
    )
    assert len(await threads(runtime)) == 1
    bodies = [m.body for m in await history(runtime, tenant_id, conversation)]
    assert bodies[-2:] == ["That worked!", "Also the light is off."]

    # 5. The agent's next reply names the whole thread, the latest inbound id first to answer.
    r = await client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"body": "Glad to hear it.", "client_msg_id": "r2"},
        headers=auth(runtime, agent),
    )
    assert r.status_code in (200, 201), r.text
    second_out = (await sink.wait_for(2))[1].message
    refs = str(second_out["References"]).split()
    assert refs == ["<first@mail.example>", our_id, "<second@mail.example>", "<third@mail.example>"]
    assert second_out["In-Reply-To"] == "<third@mail.example>"


async def test_an_unknown_recipient_is_refused_at_rcpt(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    admin = await make_user(runtime, Role.admin)
    await email_channel(client, runtime, admin)
    await make_tenant(runtime, "other")
    other_admin = await make_user(runtime, Role.admin, tenant="other")
    other_id = await email_channel(client, runtime, other_admin, address="help@other.example")
    r = await client.patch(
        f"/api/v1/channels/{other_id}", json={"enabled": False}, headers=auth(runtime, other_admin)
    )
    assert r.status_code == 200, r.text

    for address in ("nobody@acme.example", "help@other.example", "someone@elsewhere.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await smtp_send(runtime, mail(to=address), [address])
        [(code, _)] = refused.value.recipients.values()
        assert code == 550
    assert await count_messages(runtime) == 0
    assert await threads(runtime) == []


async def test_a_mail_over_the_size_limit_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    admin = await make_user(runtime, Role.admin)
    await email_channel(client, runtime, admin)
    runtime.settings.email_max_bytes = 4096  # each new SMTP session reads the limit
    # smtplib names the size in MAIL FROM (the listener announces SIZE): refused there, 552.
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await smtp_send(runtime, mail(body="x" * 10_000))
    assert refused.value.smtp_code == 552
    assert await count_messages(runtime) == 0
    await smtp_send(runtime, mail(body="small enough"))
    assert await count_messages(runtime) == 1


async def test_a_flood_from_one_address_is_told_to_come_back_later(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    admin = await make_user(runtime, Role.admin)
    await email_channel(client, runtime, admin)
    runtime.settings.email_rate_per_minute = 2
    for n in range(2):
        await smtp_send(runtime, mail(message_id=f"<flood{n}@mail.example>"))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await smtp_send(runtime, mail(message_id="<flood2@mail.example>"))
    assert refused.value.smtp_code == 450  # temporary: a real server queues and retries
    [thread] = await threads(runtime)
    assert await count_messages(runtime) == 2
    assert thread.contact_address == "ann@example.com"


async def test_the_listener_is_supervised_and_binds_once_its_port_is_free(
    runtime: Runtime,
) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    runtime.settings.smtp_listen_port = port
    listener = SmtpListener(runtime)
    try:
        await listener.start(wait_seconds=0.5)
        assert listener.stats.failures >= 1  # "address in use": logged and tried again
        assert listener.port is None
        busy.close()
        assert await listener.wait_ready(seconds=15)
        assert listener.port == port
    finally:
        busy.close()
        await listener.stop()
