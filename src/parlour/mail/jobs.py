"""The email channel's jobs.

- `email.reply` `{message_id}`: a staff message in an email conversation, enqueued by the
  message's own transaction (`OUTBOUND_JOB_KINDS` in messages/outbound.py). It is composed
  from the thread (Message-ID kept from the first attempt, In-Reply-To, References, Reply-To),
  sent over SMTP,
  and the message's `delivery_status` becomes `sent`; a permanent SMTP refusal, or the last
  attempt failing, makes it `failed` (an admin's retry of the job sends it again).
- `email.send` `{to_user_id, template, ...}`: a notification to a user (the appointment
  reminder). Sent through the same SMTP sender when `PARLOUR_SMTP_HOST` and `PARLOUR_SMTP_FROM`
  are set; otherwise only logged, as before the email channel existed.
"""

from __future__ import annotations

import hashlib
import logging
from email.utils import parseaddr

from parlour.attachments.storage import storage_for
from parlour.auth.service import get_user
from parlour.core.errors import NotFound
from parlour.jobs import Backoff, JobContext, PermanentFailure, register
from parlour.mail import compose, service
from parlour.mail.addresses import domain_of
from parlour.mail.sender import PermanentSmtpError, SmtpSender

log = logging.getLogger(__name__)

REPLY_JOB = "email.reply"
NOTIFY_JOB = "email.send"
REPLY_ATTEMPTS = 8
REPLY_BACKOFF = Backoff(base_seconds=30, max_seconds=1800)

# What each notification template says (`{starts_at}` and friends come from the payload).
TEMPLATES = {
    "appointment_reminder": (
        "Reminder: your appointment",
        "This is a reminder of your appointment, which starts at {starts_at} (UTC).",
    ),
}


async def _mark(ctx: JobContext, message_id: str, status: str, header_id: str | None) -> None:
    async with ctx.uow() as tx:
        await service.do_mark_delivery(
            tx, ctx.principal, message_id, status=status, header_id=header_id
        )


async def send_reply(ctx: JobContext) -> None:
    """Send one staff message of an email conversation (see the module's docstring)."""
    message_id = str(ctx.payload["message_id"])
    settings = ctx.runtime.settings
    sender = SmtpSender.from_settings(settings)
    if sender is None:
        await _mark(ctx, message_id, service.FAILED, None)
        raise PermanentFailure("Outbound email is not configured (set PARLOUR_SMTP_HOST).")
    try:
        async with ctx.uow() as tx:
            reply = await service.do_prepare_reply(
                tx, ctx.principal, message_id, make_id=compose.new_message_id
            )
    except NotFound as exc:  # the message, its conversation or its thread is gone
        raise PermanentFailure(exc.message) from None
    if reply.already_sent:
        return
    storage = storage_for(settings)
    files = [
        (f, b"".join([chunk async for chunk in storage.open(f.storage_key)])) for f in reply.files
    ]
    email = compose.reply_email(reply, files, now=ctx.clock.now())
    try:
        await sender.send(email)
    except PermanentSmtpError as exc:
        await _mark(ctx, message_id, service.FAILED, None)
        raise PermanentFailure(str(exc)) from None
    except Exception:
        if ctx.last_attempt:
            await _mark(ctx, message_id, service.FAILED, None)
        raise
    await _mark(ctx, message_id, service.SENT, reply.header_id)


async def send_notification(ctx: JobContext) -> None:
    """Email a user a notification (see the module's docstring)."""
    settings = ctx.runtime.settings
    template = str(ctx.payload.get("template"))
    sender = SmtpSender.from_settings(settings)
    if sender is None or not settings.smtp_from:
        log.info(
            "email (not sent: PARLOUR_SMTP_HOST/PARLOUR_SMTP_FROM unset) to user %s, "
            "template %s, job %s",
            ctx.payload.get("to_user_id"),
            template,
            ctx.idempotency_key,
        )
        return
    if template not in TEMPLATES:
        raise PermanentFailure(f"unknown email template {template!r}")
    async with ctx.uow(write=False) as tx:
        try:
            user = await get_user(tx.session, ctx.principal, str(ctx.payload.get("to_user_id")))
        except NotFound:
            raise PermanentFailure("the user to email no longer exists") from None
        to_address = user.email if user.is_active else None
    if not to_address:
        log.info("email not sent: user %s has no address (job %s)", user.id, ctx.idempotency_key)
        return
    subject, text = TEMPLATES[template]
    values = {k: str(v) for k, v in ctx.payload.items()}
    # The same id on every attempt: a receiver that got an earlier attempt can tell.
    digest = hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:32]
    email = compose.notification_email(
        from_address=settings.smtp_from,
        to_address=to_address,
        subject=subject,
        body=text.format_map(values),
        header_id=f"{digest}@{domain_of(parseaddr(settings.smtp_from)[1]) or 'parlour.invalid'}",
        now=ctx.clock.now(),
    )
    try:
        await sender.send(email)
    except PermanentSmtpError as exc:
        raise PermanentFailure(str(exc)) from None


register(REPLY_JOB, send_reply, max_attempts=REPLY_ATTEMPTS, backoff=REPLY_BACKOFF)
register(NOTIFY_JOB, send_notification)
