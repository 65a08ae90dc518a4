"""Conversation lifecycle: open, join, assign, observe, end, read state, listing.

waiting (customer in, no staff yet) → active (first staff participant joined) → ended.
Every transition appends a system message and tells subscribers with a `conversation` event.
"""

from __future__ import annotations

from typing import Literal

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant, get_user
from parlour.conversations import repository
from parlour.conversations.access import Access, access_conversation, check_can_post
from parlour.conversations.queue import mark_announced, queue_entry, was_queued
from parlour.conversations.schemas import (
    ConversationRead,
    ParticipantRead,
    QueueEntry,
    ReadState,
)
from parlour.core.errors import BadRequest, ConversationEnded, Forbidden, conversation_not_found
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.messages import repository as message_repository
from parlour.messages.schemas import MessageRead
from parlour.messages.service import do_append_system_message
from parlour.models.conversation import (
    Conversation,
    EndReason,
    Participant,
    ParticipantRole,
    Status,
)
from parlour.models.user import Role, User
from parlour.realtime.envelopes import conversation_events, queue_event, read_event

Scope = Literal["mine", "queue", "all"]
MAX_LIST = 200


async def conversation_views(
    tx: UnitOfWork, conversations: list[Conversation], *, viewer_id: str | None
) -> list[ConversationRead]:
    """Conversations as the viewer sees them: participants, unread count and last message."""
    ids = [c.id for c in conversations]
    participants = await repository.participants_with_names(tx.session, ids)
    last = await message_repository.last_messages(tx.session, conversations)
    views = []
    for c in conversations:
        parts = participants.get(c.id, [])
        mine = next((p for p, _ in parts if p.user_id == viewer_id), None)
        views.append(
            ConversationRead(
                id=c.id,
                tenant_id=c.tenant_id,
                kind=c.kind,
                channel=c.channel,
                status=Status(c.status),
                subject=c.subject,
                customer_id=c.customer_id,
                created_at=c.created_at,
                last_activity_at=c.last_activity_at,
                closes_at=c.closes_at,
                ended_at=c.ended_at,
                ended_by_id=c.ended_by_id,
                end_reason=c.end_reason,
                last_seq=c.last_seq,
                participants=[
                    ParticipantRead(
                        user_id=p.user_id,
                        display_name=name,
                        role=p.role,
                        joined_at=p.joined_at,
                        left_at=p.left_at,
                        last_read_seq=p.last_read_seq,
                    )
                    for p, name in parts
                ],
                unread_count=max(0, c.last_seq - mine.last_read_seq) if mine else 0,
                last_message=MessageRead.model_validate(last[c.id]) if c.id in last else None,
            )
        )
    return views


async def _announce(tx: UnitOfWork, conversation: Conversation) -> ConversationRead:
    """Flush, then tell those who may read the conversation how it looks now (its subscribers,
    its participants, the tenant's admins), and the tenant's staff only whether it entered or
    left the waiting queue, redacted: a staff member who cannot read a conversation never
    receives its subject, last message or message text."""
    was = was_queued(conversation)
    await tx.session.flush()
    [view] = await conversation_views(tx, [conversation], viewer_id=None)
    for event in conversation_events(
        view,
        conversation_id=conversation.id,
        tenant_id=conversation.tenant_id,
        user_ids=[p.user_id for p in view.participants],
    ):
        tx.emit(event)
    queued = view.status == Status.waiting
    if queued != was:
        tx.emit(queue_event(queue_entry(view), tenant_id=conversation.tenant_id, queued=queued))
    mark_announced(conversation)
    return view


async def _view_for(
    tx: UnitOfWork, conversation: Conversation, principal: Principal
) -> ConversationRead:
    [view] = await conversation_views(tx, [conversation], viewer_id=principal.user_id)
    return view


def _add_participant(
    tx: UnitOfWork, conversation: Conversation, user_id: str, role: str
) -> Participant:
    participant = Participant(
        id=new_id(),
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        user_id=user_id,
        role=role,
        joined_at=tx.now,
        last_read_seq=0,
    )
    tx.session.add(participant)
    return participant


async def do_create_conversation(
    tx: UnitOfWork,
    principal: Principal,
    *,
    kind: str,
    customer_id: str | None,
    subject: str | None,
) -> ConversationRead:
    """Open a conversation for a customer: staff and service keys for anyone, a customer for
    itself and only in the kinds its tenant lets customers open."""
    if principal.is_customer:
        if customer_id not in (None, principal.user_id):
            raise Forbidden("Customers open conversations only for themselves.")
        tenant = await get_tenant(tx.session, principal.tenant_id)
        if kind not in tenant.setting("customer_conversation_kinds"):
            raise Forbidden(
                f"Customers cannot open '{kind}' conversations here.", code="kind_not_allowed"
            )
        assert principal.user_id is not None
        customer_id = principal.user_id
    elif customer_id is None:
        raise BadRequest(
            "customer_id is required when staff open a conversation.", code="customer_required"
        )
    customer = await get_user(tx.session, principal, customer_id)
    if customer.role != Role.customer:
        raise BadRequest("Conversations are opened for customers.", code="not_a_customer")

    conversation = Conversation(
        id=new_id(),
        tenant_id=principal.tenant_id,
        kind=kind,
        channel="web",
        status=Status.waiting,
        subject=subject or None,
        customer_id=customer.id,
        created_by_id=principal.user_id,
        created_at=tx.now,
        last_activity_at=tx.now,
        last_seq=0,
    )
    tx.session.add(conversation)
    _add_participant(tx, conversation, customer.id, ParticipantRole.customer)
    await tx.session.flush()
    await do_append_system_message(
        tx,
        conversation,
        body=f"{customer.display_name} started the conversation.",
        meta={"event": "created", "user_id": customer.id},
    )
    await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


async def get_conversation(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> ConversationRead:
    """One conversation the caller may read."""
    access = await access_conversation(tx.session, principal, conversation_id)
    return await _view_for(tx, access.conversation, principal)


async def list_conversations(
    tx: UnitOfWork,
    principal: Principal,
    *,
    scope: Scope = "mine",
    status: Status | None = None,
    limit: int = 50,
) -> list[ConversationRead | QueueEntry]:
    """The caller's conversations (`mine`), the tenant's waiting queue (`queue`, staff) or all
    of the tenant's (`all`, admins and service keys); newest activity first.

    In the queue, staff see the conversations they may read (admins and service keys: all;
    agents: those they take part in) in full, and the others as a redacted `QueueEntry`."""
    if not 1 <= limit <= MAX_LIST:
        raise BadRequest(f"limit must be between 1 and {MAX_LIST}.", code="invalid_limit")
    if scope == "mine":
        if principal.user_id is None:
            query = repository.for_tenant(principal.tenant_id)
        else:
            query = repository.for_participant(principal.tenant_id, principal.user_id)
    elif scope == "queue":
        if not principal.is_staff:
            raise Forbidden("Only staff see the queue.")
        query = repository.for_tenant(principal.tenant_id).where(
            Conversation.status == Status.waiting
        )
    else:
        if not (principal.is_admin or principal.is_service):
            raise Forbidden("Only admins see every conversation.")
        query = repository.for_tenant(principal.tenant_id)
    if status is not None:
        query = query.where(Conversation.status == status)
    query = query.order_by(Conversation.last_activity_at.desc(), Conversation.id).limit(limit)
    conversations = list(await tx.session.scalars(query))
    views = await conversation_views(tx, conversations, viewer_id=principal.user_id)
    if scope != "queue" or principal.is_admin or principal.is_service:
        return list(views)
    return [
        view
        if any(p.user_id == principal.user_id for p in view.participants)
        else queue_entry(view)
        for view in views
    ]


async def _staff_join(
    tx: UnitOfWork, conversation: Conversation, user: User, *, role: str, by: Principal
) -> Participant:
    """Add (or re-add, or upgrade) a staff member; the first agent makes it active."""
    participant = await repository.get_participant(tx.session, conversation.id, user.id)
    if participant is None:
        participant = _add_participant(tx, conversation, user.id, role)
    else:
        participant.left_at = None
        if participant.role != ParticipantRole.agent:  # an observer becoming an agent
            participant.role = role
    if role == ParticipantRole.agent:
        # Joining implies having read what came before.
        participant.last_read_seq = conversation.last_seq
    await tx.session.flush()
    if role == ParticipantRole.agent:
        by_other = by.user_id != user.id
        body = (
            f"{user.display_name} was assigned to the conversation."
            if by_other
            else f"{user.display_name} joined the conversation."
        )
        await do_append_system_message(
            tx,
            conversation,
            body=body,
            meta={"event": "joined", "user_id": user.id, "by": by.user_id},
        )
        participant.last_read_seq = conversation.last_seq
        if conversation.status == Status.waiting:
            conversation.status = Status.active
    return participant


async def do_join(tx: UnitOfWork, principal: Principal, conversation_id: str) -> ConversationRead:
    """An agent (or admin) takes the conversation."""
    conversation = await tx.session.get(Conversation, conversation_id)
    if conversation is None or conversation.tenant_id != principal.tenant_id:
        raise conversation_not_found()
    if not principal.is_staff or principal.user_id is None:
        # A customer may know its own conversation; anyone else learns nothing.
        await access_conversation(tx.session, principal, conversation_id)
        raise Forbidden("Only staff join conversations.")
    if conversation.status == Status.ended:
        raise ConversationEnded()
    user = await get_user(tx.session, principal, principal.user_id)
    existing = await repository.get_participant(tx.session, conversation.id, user.id)
    if existing is None or existing.role != ParticipantRole.agent or existing.left_at is not None:
        await _staff_join(tx, conversation, user, role=ParticipantRole.agent, by=principal)
        await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


async def do_add_participant(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, user_id: str, role: str
) -> ConversationRead:
    """An admin (or service key) assigns an agent or adds an observer."""
    access = await access_conversation(tx.session, principal, conversation_id)
    if not (principal.is_admin or principal.is_service):
        raise Forbidden("Only admins assign people to conversations.")
    conversation = access.conversation
    if conversation.status == Status.ended:
        raise ConversationEnded()
    user = await get_user(tx.session, principal, user_id)
    if not user.is_staff:
        raise BadRequest("Only agents and admins can be assigned.", code="not_staff")
    await _staff_join(tx, conversation, user, role=role, by=principal)
    if role == ParticipantRole.observer:
        await _announce_observer(tx, conversation, user)
    await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


async def _announce_observer(tx: UnitOfWork, conversation: Conversation, user: User) -> None:
    tenant = await get_tenant(tx.session, conversation.tenant_id)
    if tenant.setting("announce_observers"):
        await do_append_system_message(
            tx,
            conversation,
            body=f"{user.display_name} is observing the conversation.",
            meta={"event": "observing", "user_id": user.id},
        )


async def do_observe(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> ConversationRead:
    """An admin starts observing (read-only). Participants are told if the tenant says so."""
    access = await access_conversation(tx.session, principal, conversation_id)
    if not principal.is_admin or principal.user_id is None:
        raise Forbidden("Only admins observe conversations.")
    if access.participant is None:
        user = await get_user(tx.session, principal, principal.user_id)
        _add_participant(tx, access.conversation, user.id, ParticipantRole.observer)
        await tx.session.flush()
        if access.conversation.status != Status.ended:
            await _announce_observer(tx, access.conversation, user)
        await _announce(tx, access.conversation)
    return await _view_for(tx, access.conversation, principal)


def _end_reason(principal: Principal, access: Access, requested: str | None) -> str:
    if principal.is_customer:
        return EndReason.customer
    if requested:
        return requested
    if principal.is_admin or principal.is_service:
        part = access.participant
        return EndReason.agent if part and part.role == ParticipantRole.agent else EndReason.admin
    return EndReason.agent


async def do_end(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, reason: str | None
) -> ConversationRead:
    """End the conversation: its customer, its agents, or an admin or service key."""
    access = await access_conversation(tx.session, principal, conversation_id)
    part = access.participant
    may_end = (
        principal.is_admin
        or principal.is_service
        or (
            part is not None
            and part.left_at is None
            and part.role in (ParticipantRole.customer, ParticipantRole.agent)
        )
    )
    if not may_end:
        raise Forbidden("Observers cannot end this conversation.")
    conversation = access.conversation
    if conversation.status == Status.ended:
        raise ConversationEnded("This conversation has already ended.")
    end_reason = _end_reason(principal, access, reason)
    who = principal.display_name or "The service"
    await do_append_system_message(
        tx,
        conversation,
        body=f"{who} ended the conversation ({end_reason.replace('_', ' ')}).",
        meta={"event": "ended", "user_id": principal.user_id, "reason": end_reason},
    )
    conversation.status = Status.ended
    conversation.ended_at = tx.now
    conversation.ended_by_id = principal.user_id
    conversation.end_reason = end_reason
    await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


async def do_mark_read(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, seq: int
) -> ReadState:
    """Move the caller's read pointer forward to `seq` and tell the others (read receipts)."""
    access = await access_conversation(tx.session, principal, conversation_id)
    conversation = access.conversation
    if seq > conversation.last_seq:
        raise BadRequest(
            f"seq {seq} is beyond the last message ({conversation.last_seq}).", code="invalid_seq"
        )
    part = access.participant
    if part is None:  # an admin or service key looking from outside keeps no read state
        return ReadState(
            conversation_id=conversation.id,
            user_id=principal.user_id,
            last_read_seq=0,
            unread_count=0,
        )
    if seq > part.last_read_seq:
        part.last_read_seq = seq
        await tx.session.flush()
        tx.emit(read_event(conversation_id=conversation.id, user_id=part.user_id, seq=seq))
    return ReadState(
        conversation_id=conversation.id,
        user_id=part.user_id,
        last_read_seq=part.last_read_seq,
        unread_count=max(0, conversation.last_seq - part.last_read_seq),
    )


async def do_typing_check(tx: UnitOfWork, principal: Principal, conversation_id: str) -> Access:
    """Access for a typing indicator: only those who may post may say they are typing."""
    access = await access_conversation(tx.session, principal, conversation_id)
    check_can_post(principal, access)
    return access
