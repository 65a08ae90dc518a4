"""The tenant's system actor, service by service: accepted where the rule says so (create,
read, assign, end), refused elsewhere with a clear error; another tenant's learns nothing."""

from __future__ import annotations

import pytest

from parlour.auth.principal import Principal
from parlour.conversations import service
from parlour.core.errors import AppError, NotFound
from parlour.messages.service import do_send_message, list_messages
from parlour.runtime import Runtime
from tests.api.support import make_member
from tests.factories import make_conversation, make_tenant


@pytest.fixture
async def cast(runtime: Runtime) -> dict[str, Principal]:
    tenant_id = await make_tenant(runtime)
    foreign_id = await make_tenant(runtime, "elsewhere")
    return {
        "system": Principal.system_actor(tenant_id),
        "foreign_system": Principal.system_actor(foreign_id),
        "customer": await make_member(runtime, "customer", name="Cara"),
        "agent": await make_member(runtime, "agent", name="Abe"),
        "other_agent": await make_member(runtime, "agent", name="Nia"),
    }


async def _code(runtime: Runtime, call) -> str:  # type: ignore[no-untyped-def]
    try:
        async with runtime.uow() as tx:
            await call(tx)
    except AppError as exc:
        return exc.code
    return "ok"


async def test_the_system_actor_matrix(runtime: Runtime, cast: dict[str, Principal]) -> None:
    system = cast["system"]
    conv = await make_conversation(runtime, cast["customer"], agent=cast["agent"])
    cid = conv.id
    other = cast["other_agent"].user_id
    assert other is not None

    calls = {
        "get": lambda tx, who: service.get_conversation(tx, who, cid),
        "history": lambda tx, who: list_messages(tx, who, conversation_id=cid),
        "list_all": lambda tx, who: service.list_conversations(tx, who, scope="all"),
        "join": lambda tx, who: service.do_join(tx, who, cid),
        "observe": lambda tx, who: service.do_observe(tx, who, cid),
        "read": lambda tx, who: service.do_mark_read(tx, who, cid, seq=1),
        "typing": lambda tx, who: service.do_typing_check(tx, who, cid),
        "transfer": lambda tx, who: service.do_add_participant(
            tx, who, cid, user_id=other, role="agent", transfer=True
        ),
        "send": lambda tx, who: do_send_message(
            tx, who, conversation_id=cid, body="hi", client_msg_id=None, max_chars=100
        ),
        "end_without_reason": lambda tx, who: service.do_end(tx, who, cid, reason=None),
        "assign": lambda tx, who: service.do_add_participant(
            tx, who, cid, user_id=other, role="agent"
        ),
    }
    expected = {
        "get": "ok",
        "history": "ok",
        "list_all": "ok",
        "join": "system_actor_not_allowed",
        "observe": "system_actor_not_allowed",
        "read": "system_actor_not_allowed",
        "typing": "system_actor_not_allowed",
        "transfer": "not_transferable",
        # Without naming the participant it posts for (tests/messages covers posting for one).
        "send": "no_sender",
        "end_without_reason": "reason_required",
        "assign": "ok",
    }
    got = {
        name: await _code(runtime, lambda tx, c=call: c(tx, system)) for name, call in calls.items()
    }
    assert got == expected
    # Another tenant's system actor learns nothing about the conversation.
    for name, call in calls.items():
        # `send` without a sender is refused for its shape (no_sender) before any lookup, which
        # tells nothing about the conversation.
        if name in ("list_all", "send"):
            continue
        code = await _code(runtime, lambda tx, c=call: c(tx, cast["foreign_system"]))
        assert code == "conversation_not_found", name

    async with runtime.uow() as tx:
        ended = await service.do_end(tx, system, cid, reason="cancelled")
    assert (ended.status, ended.end_reason, ended.ended_by_id) == ("ended", "cancelled", None)
    async with runtime.uow(write=False) as tx:
        page = await list_messages(tx, system, conversation_id=cid)
    assigned, last = page.messages[-2], page.messages[-1]
    assert assigned.body == "Nia was assigned to the conversation."
    assert assigned.meta == {"event": "joined", "user_id": other, "by": "system"}
    assert last.body == "Parlour ended the conversation (cancelled)."
    assert last.meta == {"event": "ended", "user_id": None, "reason": "cancelled", "by": "system"}
    # Reading did not make the system actor (no user) a participant.
    assert {p.user_id for p in ended.participants} == {
        cast["customer"].user_id,
        cast["agent"].user_id,
        other,
    }


async def test_the_system_actor_opens_conversations_for_customers(
    runtime: Runtime, cast: dict[str, Principal]
) -> None:
    async with runtime.uow() as tx:
        view = await service.do_create_conversation(
            tx, cast["system"], kind="support", customer_id=cast["customer"].user_id, subject="SMS"
        )
    assert view.customer_id == cast["customer"].user_id
    with pytest.raises(NotFound):
        async with runtime.uow() as tx:
            await service.do_create_conversation(
                tx,
                cast["foreign_system"],
                kind="support",
                customer_id=cast["customer"].user_id,
                subject=None,
            )
