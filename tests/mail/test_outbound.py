"""Outbound email over SMTP to a local sink (an aiosmtpd server in the test): a permanent
refusal marks the reply failed and an admin's retry sends it; notifications (`email.send`)."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import select

from parlour.models.job import Job
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.factories import auth, make_tenant, make_user
from tests.mail.support import PDF, Sink, email_channel, history, mail, post_email, threads


async def _job(rt: Runtime, kind: str, status: str, timeout: float = 15.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        async with rt.uow(write=False) as tx:
            job = await tx.session.scalar(select(Job).where(Job.kind == kind))
        if job is not None and job.status == status:
            return job
        assert time.monotonic() < deadline, f"{kind} is {job.status if job else None}"
        await asyncio.sleep(0.05)


async def test_a_refused_reply_is_failed_visible_and_retryable(
    runtime: Runtime, client: httpx.AsyncClient, sink: Sink
) -> None:
    tenant_id = await make_tenant(runtime)
    admin = await make_user(runtime, Role.admin)
    agent = await make_user(runtime, Role.agent)
    await email_channel(client, runtime, admin)
    await post_email(client, mail(message_id="<q@mail.example>").as_bytes())
    [thread] = await threads(runtime)
    conversation = thread.conversation_id
    await client.post(f"/api/v1/conversations/{conversation}/join", headers=auth(runtime, agent))

    sink.refuse_with = "550 5.1.1 Mailbox unavailable"
    r = await client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"body": "Hello from support", "client_msg_id": "x1"},
        headers=auth(runtime, agent),
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["delivery_status"] == "queued"
    failed = await _job(runtime, "email.reply", "failed")
    assert failed.attempts == 1  # a 5xx is permanent: no retries
    assert "550" in (failed.last_error or "")
    [_, reply] = await history(runtime, tenant_id, conversation)
    assert reply.delivery_status == "failed"
    assert sink.received == []

    # The admin retries once the mailbox works again: sent, with the same Message-ID.
    sink.refuse_with = None
    r = await client.post(f"/api/v1/admin/jobs/{failed.id}/retry", headers=auth(runtime, admin))
    assert r.status_code == 200, r.text
    await _job(runtime, "email.reply", "done")
    [received] = await sink.wait_for(1)
    assert received.message["In-Reply-To"] == "<q@mail.example>"
    [_, reply] = await history(runtime, tenant_id, conversation)
    assert reply.delivery_status == "sent"


async def test_customer_and_web_conversations_send_no_email(
    runtime: Runtime, client: httpx.AsyncClient, sink: Sink
) -> None:
    admin = await make_user(runtime, Role.admin)
    await email_channel(client, runtime, admin)
    customer = await make_user(runtime, Role.customer)
    r = await client.post(
        "/api/v1/conversations",
        json={"kind": "support", "subject": "web"},
        headers=auth(runtime, customer),
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/conversations/{r.json()['id']}/messages",
        json={"body": "hi", "client_msg_id": "w1"},
        headers=auth(runtime, customer),
    )
    assert r.json()["delivery_status"] is None
    async with runtime.uow(write=False) as tx:
        assert list(await tx.session.scalars(select(Job).where(Job.kind == "email.reply"))) == []


async def test_a_notification_is_sent_through_smtp(runtime: Runtime, sink: Sink) -> None:
    tenant_id = await make_tenant(runtime)
    customer = await make_user(runtime, Role.customer)
    async with runtime.uow() as tx:
        await tx.enqueue(
            "email.send",
            {
                "to_user_id": customer.user_id,
                "template": "appointment_reminder",
                "appointment_id": "a1",
                "starts_at": "2026-12-24T10:00:00+00:00",
            },
            key="reminder-1",
            tenant_id=tenant_id,
        )
    [received] = await sink.wait_for(1)
    assert received.rcpt_tos[0].endswith("@example.com")
    assert received.message["Subject"] == "Reminder: your appointment"
    assert received.message["Auto-Submitted"] == "auto-generated"
    assert "2026-12-24T10:00:00+00:00" in received.message.get_content()
    await _job(runtime, "email.send", "done")


async def test_a_reply_carries_its_attachments(
    runtime: Runtime, client: httpx.AsyncClient, sink: Sink
) -> None:
    admin = await make_user(runtime, Role.admin)
    agent = await make_user(runtime, Role.agent)
    await email_channel(client, runtime, admin)
    await post_email(client, mail(message_id="<att@mail.example>").as_bytes())
    [thread] = await threads(runtime)
    conversation = thread.conversation_id
    headers = auth(runtime, agent)
    await client.post(f"/api/v1/conversations/{conversation}/join", headers=headers)
    r = await client.post(
        "/api/v1/attachments",
        data={"conversation_id": conversation},
        files={"file": ("manual.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"body": "The manual is attached.", "attachment_ids": [r.json()["id"]]},
        headers=headers,
    )
    assert r.status_code in (200, 201), r.text
    [received] = await sink.wait_for(1)
    [attached] = list(received.message.iter_attachments())
    assert attached.get_filename() == "manual.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content() == PDF
