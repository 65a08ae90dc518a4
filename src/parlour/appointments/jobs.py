"""Job handlers of appointments: the reminder.

`appointments.remind` runs at starts_at - the tenant's `appointment_reminder_minutes`; it
re-reads the appointment, so a cancelled or rescheduled one (its start differs from the
payload's) gets nothing. The reminder's `email.send` jobs are run by the email channel
(parlour/mail/jobs.py: sent over SMTP when it is configured, logged otherwise).
"""

from __future__ import annotations

from parlour.appointments import service
from parlour.jobs import JobContext, register


async def remind(ctx: JobContext) -> None:
    async with ctx.uow() as tx:
        await service.do_remind(
            tx,
            ctx.principal,
            str(ctx.payload["appointment_id"]),
            starts_at=str(ctx.payload["starts_at"]),
        )


register(service.REMIND_JOB, remind)
