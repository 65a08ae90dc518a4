"""Conversations with messages for the search tests, made through the real services."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.messages.service import do_send_message
from parlour.models.conversation import Conversation
from parlour.runtime import Runtime
from parlour.search import service as search
from parlour.search.query import Filters
from parlour.search.schemas import SearchPage


@dataclass
class Chat:
    id: str
    customer: Principal
    agent: Principal | None


async def open_chat(
    rt: Runtime, customer: Principal, *, agent: Principal | None = None, subject: str = "Help"
) -> Chat:
    """A conversation the customer opened (with `subject`), joined by `agent` when given."""
    async with rt.uow() as tx:
        view = await conversations.do_create_conversation(
            tx, customer, kind="support", customer_id=None, subject=subject
        )
        if agent is not None:
            await conversations.do_join(tx, agent, view.id)
    return Chat(id=view.id, customer=customer, agent=agent)


async def say(rt: Runtime, who: Principal, chat: Chat | str, body: str) -> str:
    """Send `body` as `who`; the new message's id."""
    conversation_id = chat if isinstance(chat, str) else chat.id
    async with rt.uow() as tx:
        message = await do_send_message(
            tx,
            who,
            conversation_id=conversation_id,
            body=body,
            client_msg_id=None,
            max_chars=rt.settings.max_message_chars,
        )
    return message.id


async def set_channel(rt: Runtime, chat: Chat, channel: str) -> None:
    """Mark the conversation as one that came in on `channel` (the channels branch makes such
    conversations from webhooks; here only the column matters)."""
    async with rt.uow() as tx:
        conversation = await tx.session.get(Conversation, chat.id)
        assert conversation is not None
        conversation.channel = channel


async def find(
    rt: Runtime, who: Principal, text: str, *, limit: int = 20, offset: int = 0, **filters: object
) -> SearchPage:
    async with rt.uow(write=False) as tx:
        return await search.search(
            tx,
            who,
            text=text,
            filters=Filters(**filters),
            limit=limit,
            offset=offset,  # type: ignore[arg-type]
        )


async def found_ids(rt: Runtime, who: Principal, text: str, **filters: object) -> list[str]:
    """The ids of the messages `who` finds, best first."""
    return [m.message_id for m in (await find(rt, who, text, **filters)).messages]
