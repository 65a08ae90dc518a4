"""Queries of the email threads and their Message-IDs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Status
from parlour.models.email import EmailMessageId, EmailThread

EMAIL = "email"


async def thread(session: AsyncSession, conversation_id: str, tenant_id: str) -> EmailThread | None:
    """The email thread of a conversation."""
    found = await session.get(EmailThread, conversation_id)
    return found if found is not None and found.tenant_id == tenant_id else None


async def thread_by_token(session: AsyncSession, tenant_id: str, token: str) -> EmailThread | None:
    """The thread whose reply address carries `token`, in this tenant only."""
    return await session.scalar(
        select(EmailThread).where(
            EmailThread.tenant_id == tenant_id, EmailThread.reply_token == token
        )
    )


async def conversations_by_header(
    session: AsyncSession, tenant_id: str, header_ids: list[str]
) -> dict[str, str]:
    """Message-ID → conversation id, for the ids of this tenant among `header_ids`."""
    if not header_ids:
        return {}
    rows = await session.execute(
        select(EmailMessageId.header_id, EmailMessageId.conversation_id).where(
            EmailMessageId.tenant_id == tenant_id, EmailMessageId.header_id.in_(header_ids)
        )
    )
    return {str(h): str(c) for h, c in rows}


async def has_header(session: AsyncSession, tenant_id: str, header_id: str) -> bool:
    """Whether this tenant has a message with this Message-ID already."""
    found = await session.scalar(
        select(EmailMessageId.id).where(
            EmailMessageId.tenant_id == tenant_id, EmailMessageId.header_id == header_id
        )
    )
    return found is not None


async def open_conversations(
    session: AsyncSession, tenant_id: str, conversation_ids: list[str], customer_id: str
) -> set[str]:
    """Those of `conversation_ids` that are this customer's and have not ended."""
    if not conversation_ids:
        return set()
    rows = await session.scalars(
        select(Conversation.id).where(
            Conversation.tenant_id == tenant_id,
            Conversation.id.in_(conversation_ids),
            Conversation.customer_id == customer_id,
            Conversation.status != Status.ended,
        )
    )
    return set(rows)


async def latest_open_thread(session: AsyncSession, tenant_id: str, contact_id: str) -> str | None:
    """The contact's newest email conversation that has not ended."""
    return await session.scalar(
        select(EmailThread.conversation_id)
        .join(Conversation, Conversation.id == EmailThread.conversation_id)
        .where(
            EmailThread.tenant_id == tenant_id,
            EmailThread.contact_id == contact_id,
            Conversation.customer_id == contact_id,
            Conversation.status != Status.ended,
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )


async def outbound_id(session: AsyncSession, message_id: str) -> EmailMessageId | None:
    """The Message-ID given to a Parlour message sent by email."""
    return await session.scalar(
        select(EmailMessageId).where(EmailMessageId.message_id == message_id)
    )


async def header_ids(session: AsyncSession, conversation_id: str) -> list[EmailMessageId]:
    """Every Message-ID of a conversation, oldest first."""
    rows = await session.scalars(
        select(EmailMessageId)
        .where(EmailMessageId.conversation_id == conversation_id)
        .order_by(EmailMessageId.created_at, EmailMessageId.id)
    )
    return list(rows)


def add(session: AsyncSession, row: EmailThread | EmailMessageId) -> None:
    session.add(row)
