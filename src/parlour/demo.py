"""Demo data: a tenant, three accounts and a few conversations. Never for production."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from parlour.appointments import service as appointments  # appointments
from parlour.appointments.schemas import AvailabilityIn  # appointments
from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, do_ensure_default_tenant, principal_for
from parlour.conversations import service as conversations
from parlour.core.uow import UnitOfWork
from parlour.messages.service import do_send_message
from parlour.models.user import Role, User
from parlour.payments.plans import do_seed_default_plans  # payments
from parlour.runtime import Runtime

DEMO_PASSWORD = "parlour-demo"
DEMO_ACCOUNTS = [
    (Role.admin, "admin@example.com", "Ada Admin"),
    (Role.agent, "agent@example.com", "Alex Expert"),
    (Role.customer, "customer@example.com", "Casey Customer"),
]


async def load_demo(runtime: Runtime, *, if_empty: bool = False) -> bool:
    """Load the demo data; returns False when it was already there and `if_empty` is set."""
    max_chars = runtime.settings.max_message_chars
    async with runtime.uow() as tx:
        tenant = await do_ensure_default_tenant(tx.session, now=tx.now)
        existing = await tx.session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0][1]))
        if existing is not None:
            if if_empty:
                return False
            raise SystemExit("The demo data is already loaded.")
        users = {}
        for role, email, name in DEMO_ACCOUNTS:
            users[role] = await do_create_user(
                tx.session,
                tenant_id=tenant.id,
                role=role,
                display_name=name,
                email=email,
                password=DEMO_PASSWORD,
                now=tx.now,
            )
        customer = principal_for(users[Role.customer])
        agent = principal_for(users[Role.agent])
        # payments: the default plans (no Stripe key: /plans pays through the test provider).
        await do_seed_default_plans(tx, tenant.id)

        waiting = await conversations.do_create_conversation(
            tx, customer, kind="support", customer_id=None, subject="My order has not arrived"
        )
        await _say(
            tx,
            customer,
            waiting.id,
            "Hi! I ordered a bike part two weeks ago and it has not arrived yet.",
            max_chars,
        )

        active = await conversations.do_create_conversation(
            tx, agent, kind="chat", customer_id=customer.user_id, subject="Brakes squeal when wet"
        )
        await conversations.do_join(tx, agent, active.id)
        await _say(
            tx,
            customer,
            active.id,
            "My brakes squeal whenever it rains. Is that dangerous?",
            max_chars,
        )
        await _say(
            tx,
            agent,
            active.id,
            "Usually not: wet pads squeal. Do they still stop the bike as well as when dry?",
            max_chars,
        )

        ended = await conversations.do_create_conversation(
            tx, agent, kind="chat", customer_id=customer.user_id, subject="Chain keeps slipping"
        )
        await conversations.do_join(tx, agent, ended.id)
        await _say(tx, customer, ended.id, "The chain slips in the highest gear.", max_chars)
        await _say(
            tx,
            agent,
            ended.id,
            "Try a quarter turn on the barrel adjuster; that usually fixes it.",
            max_chars,
        )
        await conversations.do_end(tx, agent, ended.id, reason=None)

        # appointments: Alex publishes weekday hours; Casey has one booked for tomorrow.
        await _demo_appointments(tx, principal_for(users[Role.admin]), agent, customer)
    return True


async def _demo_appointments(
    tx: UnitOfWork, admin: Principal, expert: Principal, customer: Principal
) -> None:
    assert expert.user_id is not None and customer.user_id is not None
    hours = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
    await appointments.do_set_availability(
        tx,
        expert,
        expert.user_id,
        AvailabilityIn.model_validate({"timezone": "Europe/London", "weekly": hours}),
    )
    start = (tx.now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    await appointments.do_create_appointment(
        tx,
        admin,
        customer_id=customer.user_id,
        expert_id=expert.user_id,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        note="Bring the bike for a brake check.",
    )


async def demo_accounts_present(runtime: Runtime) -> bool:
    """Whether any demo account (published password) is in the database."""
    emails = [email for _, email, _ in DEMO_ACCOUNTS]
    async with runtime.uow(write=False) as tx:
        found = await tx.session.scalar(
            select(User.id).where(User.email.in_(emails), User.is_active.is_(True)).limit(1)
        )
    return found is not None


async def _say(
    tx: UnitOfWork, principal: Principal, conversation_id: str, body: str, max_chars: int
) -> None:
    await do_send_message(
        tx,
        principal,
        conversation_id=conversation_id,
        body=body,
        client_msg_id=None,
        max_chars=max_chars,
    )
