"""Conversation lifecycle through the service layer, on both backends."""

from __future__ import annotations

import pytest

from parlour.conversations import service
from parlour.core.errors import AppError, ConversationEnded, Forbidden, NotFound
from parlour.messages.service import do_send_message, list_messages
from parlour.models.conversation import Status
from parlour.runtime import Runtime
from tests.factories import make_conversation, make_tenant, make_user


async def _send(rt: Runtime, who, conversation_id: str, body: str, cmid: str | None = None):
    async with rt.uow() as tx:
        return await do_send_message(
            tx,
            who,
            conversation_id=conversation_id,
            body=body,
            client_msg_id=cmid,
            max_chars=rt.settings.max_message_chars,
        )


async def test_waiting_active_ended_with_system_messages(runtime: Runtime) -> None:
    customer = await make_user(runtime, "customer", name="Cara")
    agent = await make_user(runtime, "agent", name="Abe")
    conv = await make_conversation(runtime, customer)
    assert conv.status == Status.waiting
    assert [p.role for p in conv.participants] == ["customer"]

    async with runtime.uow() as tx:
        joined = await service.do_join(tx, agent, conv.id)
    assert joined.status == Status.active

    await _send(runtime, customer, conv.id, "hello")
    async with runtime.uow() as tx:
        ended = await service.do_end(tx, customer, conv.id, reason="admin")
    assert ended.status == Status.ended
    assert ended.end_reason == "customer"  # a customer cannot claim another reason
    assert ended.ended_by_id == customer.user_id

    async with runtime.uow(write=False) as tx:
        page = await list_messages(tx, customer, conversation_id=conv.id)
    kinds = [(m.seq, m.kind, (m.meta or {}).get("event")) for m in page.messages]
    assert kinds == [
        (1, "system", "created"),
        (2, "system", "joined"),
        (3, "text", None),
        (4, "system", "ended"),
    ]

    with pytest.raises(ConversationEnded):
        await _send(runtime, customer, conv.id, "too late")
    # Still readable after the end.
    async with runtime.uow(write=False) as tx:
        assert (await service.get_conversation(tx, agent, conv.id)).last_seq == 4


async def test_seq_has_no_gaps_under_concurrent_sends(runtime: Runtime) -> None:
    import asyncio

    from parlour.messages.service import SendRequest

    customer = await make_user(runtime)
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    sends = [
        runtime.writer.send(SendRequest(who, conv.id, f"m{i}", f"c{i}"))
        for i in range(60)
        for who in (customer, agent)
    ]
    results = await asyncio.gather(*sends)
    seqs = sorted(m.seq for m in results)
    assert seqs == list(range(conv.last_seq + 1, conv.last_seq + 121))
    assert runtime.writer.batches < 120  # concurrent sends shared commits


async def test_client_msg_id_is_idempotent_even_within_one_batch(runtime: Runtime) -> None:
    import asyncio

    from parlour.messages.service import SendRequest

    customer = await make_user(runtime)
    conv = await make_conversation(runtime, customer)
    request = SendRequest(customer, conv.id, "once", "same-id")
    first, second = await asyncio.gather(runtime.writer.send(request), runtime.writer.send(request))
    third = await runtime.writer.send(request)
    assert first.id == second.id == third.id
    async with runtime.uow(write=False) as tx:
        page = await list_messages(tx, customer, conversation_id=conv.id)
    assert [m.body for m in page.messages].count("once") == 1


async def test_outsiders_learn_nothing(runtime: Runtime) -> None:
    customer = await make_user(runtime)
    other = await make_user(runtime)
    agent = await make_user(runtime, "agent")
    await make_tenant(runtime, "elsewhere")
    foreign_admin = await make_user(runtime, "admin", tenant="elsewhere")
    conv = await make_conversation(runtime, customer, agent=agent)

    for outsider in (other, foreign_admin):
        for conversation_id in (conv.id, "no-such-conversation"):
            with pytest.raises(NotFound) as err:
                async with runtime.uow(write=False) as tx:
                    await service.get_conversation(tx, outsider, conversation_id)
            assert err.value.code == "conversation_not_found"
            with pytest.raises(NotFound):
                await _send(runtime, outsider, conversation_id, "hi")


async def test_observer_admin_reads_but_cannot_post(runtime: Runtime) -> None:
    customer = await make_user(runtime)
    admin = await make_user(runtime, "admin")
    conv = await make_conversation(runtime, customer)
    async with runtime.uow() as tx:
        observed = await service.do_observe(tx, admin, conv.id)
    assert any(p.role == "observer" for p in observed.participants)
    with pytest.raises(Forbidden):
        await _send(runtime, admin, conv.id, "I am watching")
    async with runtime.uow(write=False) as tx:
        page = await list_messages(tx, admin, conversation_id=conv.id)
    assert page.messages[-1].meta == {"event": "observing", "user_id": admin.user_id}


async def test_unread_counts_and_read_pointer(runtime: Runtime) -> None:
    customer = await make_user(runtime)
    agent = await make_user(runtime, "agent")
    conv = await make_conversation(runtime, customer, agent=agent)
    for i in range(3):
        await _send(runtime, customer, conv.id, f"q{i}")
    async with runtime.uow(write=False) as tx:
        [mine] = await service.list_conversations(tx, agent)
    assert mine.unread_count == 3
    async with runtime.uow() as tx:
        state = await service.do_mark_read(tx, agent, conv.id, seq=mine.last_seq)
    assert state.unread_count == 0
    with pytest.raises(AppError) as err:
        async with runtime.uow() as tx:
            await service.do_mark_read(tx, agent, conv.id, seq=mine.last_seq + 5)
    assert err.value.code == "invalid_seq"
