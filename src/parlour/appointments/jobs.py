"""Job handlers of appointments: the reminder, and the email seam until an email channel exists.

`appointments.remind` runs at starts_at - the tenant's `appointment_reminder_minutes`; it
re-reads the appointment, so a cancelled or rescheduled one (its start differs from the
payload's) gets nothing. `email.send` only logs what it would send: the email channel, when it
comes, registers the real handler for the same kind and payload (and this one steps aside).
"""

from __future__ import annotations

import logging

from parlour.appointments import service
from parlour.jobs import JobContext, register
from parlour.jobs.registry import handlers

log = logging.getLogger(__name__)


async def remind(ctx: JobContext) -> None:
    async with ctx.uow() as tx:
        await service.do_remind(
            tx,
            ctx.principal,
            str(ctx.payload["appointment_id"]),
            starts_at=str(ctx.payload["starts_at"]),
        )


async def log_email(ctx: JobContext) -> None:
    """The email seam: {to_user_id, template, ...ids}; logged, not sent."""
    log.info(
        "email (not sent: no email channel yet) to user %s, template %s, job %s",
        ctx.payload.get("to_user_id"),
        ctx.payload.get("template"),
        ctx.idempotency_key,
    )


register(service.REMIND_JOB, remind)
if handlers.get(service.EMAIL_JOB) is None:
    register(service.EMAIL_JOB, log_email)
