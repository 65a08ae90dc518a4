"""Domain events: hooks run after commit, never after a rollback, and one failing handler
neither undoes the commit nor stops the others."""

from __future__ import annotations

import logging

import pytest

from parlour.conversations import service
from parlour.core.domain_events import DomainEvent
from parlour.runtime import Runtime
from tests.api.support import make_member, row_counts
from tests.factories import make_tenant


async def test_lifecycle_events_reach_hooks_after_commit(runtime: Runtime) -> None:
    await make_tenant(runtime)
    customer = await make_member(runtime, "customer", name="Cara")
    agent = await make_member(runtime, "agent", name="Abe")
    seen: list[tuple[str, dict[str, object]]] = []

    async def record(event: DomainEvent) -> None:
        seen.append((event.name, event.data))

    for name in (service.CREATED, service.PARTICIPANT_JOINED, service.ENDED):
        runtime.hooks.on(name, record)

    async with runtime.uow() as tx:
        view = await service.do_create_conversation(
            tx, customer, kind="support", customer_id=None, subject=None
        )
        assert seen == []  # not before the commit
    async with runtime.uow() as tx:
        await service.do_join(tx, agent, view.id)
    async with runtime.uow() as tx:
        await service.do_end(tx, agent, view.id, reason=None)

    assert seen == [
        (
            "conversation.created",
            {
                "conversation_id": view.id,
                "kind": "support",
                "customer_id": customer.user_id,
                "by": customer.user_id,
            },
        ),
        (
            "conversation.participant_joined",
            {
                "conversation_id": view.id,
                "user_id": agent.user_id,
                "role": "agent",
                "by": agent.user_id,
            },
        ),
        (
            "conversation.ended",
            {
                "conversation_id": view.id,
                "reason": "agent",
                "ended_by_id": agent.user_id,
                "by": agent.user_id,
            },
        ),
    ]


async def test_a_rollback_runs_no_hook(runtime: Runtime) -> None:
    await make_tenant(runtime)
    customer = await make_member(runtime, "customer", name="Cara")
    seen: list[DomainEvent] = []

    async def record(event: DomainEvent) -> None:
        seen.append(event)

    runtime.hooks.on(service.CREATED, record)
    before = await row_counts(runtime)
    with pytest.raises(RuntimeError):
        async with runtime.uow() as tx:
            await service.do_create_conversation(
                tx, customer, kind="support", customer_id=None, subject=None
            )
            assert len(tx.domain_events) == 1
            raise RuntimeError("the edge fails after the service")
    assert seen == []
    assert await row_counts(runtime) == before


async def test_a_failing_handler_is_logged_and_breaks_nothing(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await make_tenant(runtime)
    customer = await make_member(runtime, "customer", name="Cara")
    calls: list[str] = []

    async def broken(event: DomainEvent) -> None:
        calls.append("broken")
        raise ValueError("handler bug")

    async def fine(event: DomainEvent) -> None:
        calls.append("fine")

    runtime.hooks.on(service.CREATED, broken)
    runtime.hooks.on(service.CREATED, fine)
    with caplog.at_level(logging.ERROR, logger="parlour.core.domain_events"):
        async with runtime.uow() as tx:
            view = await service.do_create_conversation(
                tx, customer, kind="support", customer_id=None, subject=None
            )
    assert calls == ["broken", "fine"]
    assert "handler bug" in caplog.text
    async with runtime.uow(write=False) as tx:  # the commit stands
        assert (await service.get_conversation(tx, customer, view.id)).id == view.id

    runtime.hooks.off(service.CREATED, broken)
    async with runtime.uow() as tx:
        await service.do_create_conversation(
            tx, customer, kind="support", customer_id=None, subject=None
        )
    assert calls == ["broken", "fine", "fine"]
