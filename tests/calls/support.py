"""video: conversations that hold calls, as a paid video plan opens them."""

from __future__ import annotations

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.conversations.schemas import ConversationRead
from parlour.runtime import Runtime


async def make_video_conversation(
    rt: Runtime,
    customer: Principal,
    *,
    agent: Principal | None = None,
    opener: Principal | None = None,
    kind: str = "video",
) -> ConversationRead:
    """A `kind` conversation for `customer`, opened by `opener` (the tenant's system actor by
    default, as a payment opens it) and joined by `agent` when given."""
    by = opener or Principal.system_actor(customer.tenant_id)
    async with rt.uow() as tx:
        view = await conversations.do_create_conversation(
            tx, by, kind=kind, customer_id=customer.user_id, subject="Engine noise"
        )
        if agent is not None:
            view = await conversations.do_join(tx, agent, view.id)
    return view


async def end(rt: Runtime, who: Principal, conversation_id: str) -> None:
    async with rt.uow() as tx:
        await conversations.do_end(tx, who, conversation_id, reason=None)
