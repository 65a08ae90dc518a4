"""The inactivity deadline on both databases, on a frozen clock (nothing sleeps): a support
conversation with no message for the tenant's `support_inactivity_seconds` (default 24 h) is
ended once by the sweep (reason `inactivity`, by the system actor) and its ticket resolved; a
message restarts the wait; a tenant's own setting applies; other conversations are left alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant_by_slug, principal_for
from parlour.conversations import service as conversations
from parlour.core.clock import FrozenClock
from parlour.deadlines.sweep import sweep
from parlour.messages.service import do_send_message
from parlour.models.ticket import Ticket
from parlour.runtime import Runtime
from parlour.tickets import service
from parlour.tickets.reactions import INACTIVITY
from tests.api.support import make_member, set_tenant_settings
from tests.deadlines.support import conversation, ended_messages
from tests.factories import make_tenant

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


async def _start(rt: Runtime, slug: str | None = None) -> tuple[str, str, Principal]:
    """A guest's support chat: (conversation id, ticket id, the guest)."""
    async with rt.uow() as tx:
        tenant = await get_tenant_by_slug(tx.session, slug)
        started = await service.do_start_support(
            tx, tenant, None, service.Visitor(message="Anyone there?"), max_chars=4000
        )
        assert started.guest is not None
        guest = principal_for(started.guest)
    return started.conversation.id, started.ticket.id, guest


async def _sweep(rt: Runtime) -> list[tuple[str, str, str]]:
    acted = await sweep(rt.uow, rt.deadlines, batch_size=100)
    return [(a.deadline, a.conversation_id, a.outcome) for a in acted]


async def _ticket(rt: Runtime, ticket_id: str) -> Ticket:
    async with rt.uow(write=False) as tx:
        found = await tx.session.get(Ticket, ticket_id)
        assert found is not None
        return found


async def test_an_idle_support_chat_is_closed_once_and_its_ticket_resolved(
    frozen: Runtime, clock: FrozenClock
) -> None:
    await make_tenant(frozen)
    cid, tid, guest = await _start(frozen)

    clock.advance(hours=23)
    async with frozen.uow() as tx:  # the visitor writes: the 24 hours start again
        await do_send_message(
            tx, guest, conversation_id=cid, body="Hello?", client_msg_id=None, max_chars=4000
        )
    clock.advance(hours=23, minutes=59, seconds=59)
    assert await _sweep(frozen) == []
    assert (await _ticket(frozen, tid)).status == "open"

    clock.advance(seconds=1)
    assert await _sweep(frozen) == [(INACTIVITY, cid, "inactivity")]
    assert await _sweep(frozen) == []  # once
    ended = await conversation(frozen, cid)
    assert (ended.status, ended.end_reason, ended.ended_by_id) == ("ended", "inactivity", None)
    [message] = await ended_messages(frozen, cid)
    assert message.body == "Parlour ended the conversation (inactivity)."
    ticket = await _ticket(frozen, tid)
    assert ticket.status == "resolved" and ticket.resolved_at == clock.now()


async def test_the_tenant_sets_the_wait_and_other_conversations_are_left_alone(
    frozen: Runtime, clock: FrozenClock
) -> None:
    await make_tenant(frozen)
    await make_tenant(frozen, "quick")
    await set_tenant_settings(frozen, "quick", support_inactivity_seconds=600)
    slow_cid, _, _ = await _start(frozen)
    quick_cid, quick_tid, _ = await _start(frozen, "quick")
    customer = await make_member(frozen, "customer", name="Cara")
    admin = await make_member(frozen, "admin", name="Ada")
    async with frozen.uow() as tx:  # not a support conversation: not the desk's
        plain = await conversations.do_create_conversation(
            tx, admin, kind="consultation", customer_id=customer.user_id, subject=None
        )

    clock.advance(minutes=10)
    assert await _sweep(frozen) == [(INACTIVITY, quick_cid, "inactivity")]
    assert (await _ticket(frozen, quick_tid)).status == "resolved"
    clock.advance(days=30)
    assert await _sweep(frozen) == [(INACTIVITY, slow_cid, "inactivity")]
    assert (await conversation(frozen, plain.id)).status == "waiting"


async def test_a_ticket_resolved_by_staff_is_not_swept(frozen: Runtime, clock: FrozenClock) -> None:
    await make_tenant(frozen)
    admin = await make_member(frozen, "admin", name="Ada")
    cid, tid, _ = await _start(frozen)
    async with frozen.uow() as tx:
        await service.do_update_ticket(tx, admin, tid, status=service.TicketStatus.resolved)
    clock.advance(days=2)
    assert await _sweep(frozen) == []
    assert len(await ended_messages(frozen, cid)) == 1
    assert (await conversation(frozen, cid)).end_reason == "agent"
