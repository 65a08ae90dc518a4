"""Who may read and post in a conversation. Every entry point goes through these checks.

Only participants read a conversation (admins, service keys and the system actor of its tenant
read from outside; conversations.service records an admin's read as an observation); only
active posting participants post, and only while it has not ended. Anything a caller may not
read is reported exactly like a conversation that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.auth.principal import Principal
from parlour.core.errors import ConversationEnded, Forbidden, conversation_not_found
from parlour.models.conversation import POSTING_ROLES, Conversation, Participant, Status


@dataclass(slots=True)
class Access:
    conversation: Conversation
    # The caller's participant row; None for an admin or service key observing from outside.
    participant: Participant | None


def may_read(
    principal: Principal, conversation: Conversation, participant: Participant | None
) -> bool:
    if conversation.tenant_id != principal.tenant_id:
        return False
    # The tenant's system actor (sweeps, webhooks, jobs) reads what it acts on.
    return (
        participant is not None or principal.is_admin or principal.is_service or principal.is_system
    )


def readable_by(principal: Principal) -> ColumnElement[bool]:  # search:
    """`may_read` as a condition on `Conversation`, for queries over many conversations
    (search): the same rule, so a list never shows what reading one would refuse."""
    in_tenant = Conversation.tenant_id == principal.tenant_id
    if principal.is_admin or principal.is_service or principal.is_system:
        return in_tenant
    if principal.user_id is None:
        return false()
    taking_part = select(Participant.conversation_id).where(
        Participant.user_id == principal.user_id, Participant.tenant_id == principal.tenant_id
    )
    return and_(in_tenant, Conversation.id.in_(taking_part))


def readable_without_observing(principal: Principal) -> ColumnElement[bool]:  # searchfix:
    """`readable_by`, less what reading would record as an observation (an admin user in an
    open conversation they take no part in: see `conversations.service.do_open_for_reading`).
    Search shows messages only from these, so an admin never reads silently through it."""
    readable = readable_by(principal)
    if not (principal.is_admin and principal.user_id is not None and not principal.is_service):
        return readable
    taking_part = select(Participant.conversation_id).where(
        Participant.user_id == principal.user_id, Participant.tenant_id == principal.tenant_id
    )
    return and_(
        readable, or_(Conversation.status == Status.ended, Conversation.id.in_(taking_part))
    )


async def access_conversation(
    session: AsyncSession, principal: Principal, conversation_id: str
) -> Access:
    """The conversation and the caller's participation, if the caller may read it."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.tenant_id != principal.tenant_id:
        raise conversation_not_found()
    participant = None
    if principal.user_id is not None:
        participant = await session.scalar(
            select(Participant).where(
                Participant.conversation_id == conversation_id,
                Participant.user_id == principal.user_id,
            )
        )
    if not may_read(principal, conversation, participant):
        raise conversation_not_found()
    return Access(conversation=conversation, participant=participant)


def check_can_post(principal: Principal, access: Access) -> None:
    """Raise unless the caller may post into this (readable) conversation now.

    The tenant's system actor posts on behalf of a participant (a bot, a channel contact):
    `access.participant` is then that participant's row, and the same rules apply to it.
    """
    if principal.is_service:
        raise Forbidden("Service keys read and manage conversations but do not post.")
    if principal.is_system and access.participant is None:
        # Only on behalf of a participant (a bot, a channel contact) named as the sender.
        raise Forbidden(
            "The system actor posts only on behalf of a participant (name the sender).",
            code="system_actor_not_allowed",
        )
    part = access.participant
    if part is None or part.left_at is not None or part.role not in POSTING_ROLES:
        raise Forbidden("Observers cannot post in this conversation.", code="not_a_poster")
    if access.conversation.status == Status.ended:
        raise ConversationEnded()
