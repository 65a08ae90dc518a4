"""Conversation lifecycle: open, join, assign, observe, end, read state, listing.

waiting (customer in, no staff yet) → active (first staff participant joined) → ended.
Every transition appends a system message, tells subscribers with a `conversation` event and
emits a domain event (`conversation.created`, `conversation.participant_joined`,
`conversation.participant_left`, `conversation.ended`) for in-process hooks.

Every change that reads then writes the conversation first locks its row (`_locked_access`,
`repository.lock`) and decides on what it reads under the lock, so a concurrent end and join
cannot revive an ended conversation and two ends write one "ended" message
(docs/architecture/lifecycle.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant, get_user
from parlour.conversations import repository
from parlour.conversations.access import Access, access_conversation, check_can_post, may_read
from parlour.conversations.queue import mark_announced, queue_entry, was_queued
from parlour.conversations.receipts import hidden_from, is_private_reader, private_in
from parlour.conversations.schemas import (
    ConversationRead,
    ParticipantRead,
    QueueEntry,
    ReadState,
)
from parlour.conversations.unread import emit_unread  # inbox
from parlour.core.domain_events import DomainEvent
from parlour.core.errors import (
    BadRequest,
    Conflict,
    ConversationEnded,
    Forbidden,
    conversation_not_found,
)
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.messages import service as message_service
from parlour.messages.schemas import MessageRead
from parlour.messages.service import do_append_system_message
from parlour.models.conversation import (
    Channel,
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

# Domain event names (parlour.core.domain_events): what in-process hooks register for.
CREATED = "conversation.created"
PARTICIPANT_JOINED = "conversation.participant_joined"
PARTICIPANT_LEFT = "conversation.participant_left"
ENDED = "conversation.ended"


def _actor(principal: Principal) -> str | None:
    """Who acted, as system messages and domain events name it: a user id, or "service" (an
    API key) or "system" (the tenant's system actor)."""
    if principal.is_system:
        return "system"
    if principal.is_service:
        return "service"
    return principal.user_id


def _refuse_system(principal: Principal, what: str) -> None:
    if principal.is_system:
        raise Forbidden(f"The system actor cannot {what}.", code="system_actor_not_allowed")


async def _locked_access(tx: UnitOfWork, principal: Principal, conversation_id: str) -> Access:
    """What `access_conversation` answers, read under the conversation's row lock: its status
    and the caller's participation are what the transaction before this one committed."""
    conversation = await repository.lock(tx.session, conversation_id, principal.tenant_id)
    if conversation is None:
        raise conversation_not_found()
    participant = None
    if principal.user_id is not None:
        participant = await repository.get_participant(
            tx.session, conversation.id, principal.user_id
        )
    if not may_read(principal, conversation, participant):
        raise conversation_not_found()
    return Access(conversation=conversation, participant=participant)


async def conversation_views(
    tx: UnitOfWork, conversations: list[Conversation], *, viewer_id: str | None
) -> list[ConversationRead]:
    """Conversations as the viewer sees them: participants, unread count and last message."""
    ids = [c.id for c in conversations]
    participants = await repository.participants_with_names(tx.session, ids)
    last = await message_service.last_messages(tx, conversations)
    shown = await _shown_read_seqs(tx, conversations, participants, viewer_id=viewer_id)
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
                        last_read_seq=shown.get((c.id, p.user_id), p.last_read_seq),
                    )
                    for p, name in parts
                ],
                # inbox: a participant who left no longer counts what they no longer follow.
                unread_count=(
                    max(0, c.last_seq - mine.last_read_seq) if mine and mine.left_at is None else 0
                ),
                last_message=MessageRead.model_validate(last[c.id]) if c.id in last else None,
            )
        )
    return views


async def _shown_read_seqs(
    tx: UnitOfWork,
    conversations: list[Conversation],
    participants: dict[str, list[tuple[Participant, str]]],
    *,
    viewer_id: str | None,
) -> dict[tuple[str, str], int]:
    """Private read receipts (conversations/receipts.py): the read pointers a view must show
    lower than stored, (conversation, user) → the user's own last message seq."""
    hide: list[tuple[str, str]] = []
    private_tenants: dict[str, bool] = {}
    for c in conversations:
        parts = [p for p, _ in participants.get(c.id, [])]
        if not parts or not hidden_from(viewer_id, parts, c.customer_id):
            continue
        if c.tenant_id not in private_tenants:
            private_tenants[c.tenant_id] = await private_in(tx, c.tenant_id)
        private = private_tenants[c.tenant_id]
        hide += [(c.id, p.user_id) for p in parts if is_private_reader(p, private=private)]
    if not hide:
        return {}
    sent = await message_service.last_sent_seqs(tx, hide)
    return {key: sent.get(key, 0) for key in hide}


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
    closes_at: datetime | None = None,
    channel: Channel = Channel.web,  # inbox
) -> ConversationRead:
    """Open a conversation for a customer: staff, service keys and the system actor for
    anyone, a customer for itself and only in the kinds its tenant lets customers open.
    `closes_at` (staff, keys, system) is the deadline at which the sweep ends it (`expired`).
    `channel` is where it travels (web; a channel's inbound traffic names its own). A customer
    never claims one: its conversations are the web's."""
    if channel != Channel.web and principal.is_customer:  # email:
        raise Forbidden("Customers open web conversations only.", code="forbidden")
    if principal.is_customer:
        if customer_id not in (None, principal.user_id):
            raise Forbidden("Customers open conversations only for themselves.")
        if closes_at is not None:
            raise Forbidden(
                "Customers cannot set when a conversation closes.", code="closes_at_not_allowed"
            )
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
    if closes_at is not None and closes_at <= tx.now:
        raise BadRequest("closes_at must be in the future.", code="invalid_closes_at")
    customer = await get_user(tx.session, principal, customer_id)
    if customer.role != Role.customer:
        raise BadRequest("Conversations are opened for customers.", code="not_a_customer")

    conversation = Conversation(
        id=new_id(),
        tenant_id=principal.tenant_id,
        kind=kind,
        channel=Channel(channel).value,  # inbox
        status=Status.waiting,
        subject=subject or None,
        customer_id=customer.id,
        created_by_id=principal.user_id,
        created_at=tx.now,
        last_activity_at=tx.now,
        closes_at=closes_at,
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
    tx.emit_domain(
        DomainEvent(
            CREATED,
            conversation.tenant_id,
            {
                "conversation_id": conversation.id,
                "kind": conversation.kind,
                "customer_id": customer.id,
                "by": _actor(principal),
            },
        )
    )
    return await _view_for(tx, conversation, principal)


def reading_may_write(principal: Principal) -> bool:
    """Whether opening a conversation for reading may record an observation, so the edge must
    open a writing unit of work: an admin (a user) reading from outside is recorded. Service
    keys and the system actor have no user and read without becoming participants."""
    return principal.is_admin and principal.user_id is not None and not principal.is_service


async def do_open_for_reading(tx: UnitOfWork, principal: Principal, conversation_id: str) -> Access:
    """Access for reading a conversation (its view, its history, a realtime subscription).

    An admin who is not a participant reads only as an observer: the read records the
    observation (participant role `observer`, announced per the tenant's `announce_observers`
    setting), so nobody reads silently. An ended conversation records nothing more. Needs a
    writing unit of work when `reading_may_write(principal)`.
    """
    access = await access_conversation(tx.session, principal, conversation_id)
    if not _observes_by_reading(principal, access):
        return access
    if not tx.writes:
        raise RuntimeError("an admin's read records an observation: open a writing unit of work")
    access = await _locked_access(tx, principal, conversation_id)
    if _observes_by_reading(principal, access):
        access.participant = await _observe(tx, access.conversation, principal)
    return access


def _observes_by_reading(principal: Principal, access: Access) -> bool:
    return (
        reading_may_write(principal)
        and access.participant is None
        and access.conversation.status != Status.ended
    )


async def get_conversation(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> ConversationRead:
    """One conversation the caller may read (an admin's read is an observation: see
    `do_open_for_reading`)."""
    access = await do_open_for_reading(tx, principal, conversation_id)
    return await _view_for(tx, access.conversation, principal)


async def list_conversations(
    tx: UnitOfWork,
    principal: Principal,
    *,
    scope: Scope = "mine",
    status: Status | None = None,
    limit: int = 50,
    channel: Channel | None = None,  # inbox
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
        if not (principal.is_admin or principal.is_service or principal.is_system):
            raise Forbidden("Only admins see every conversation.")
        query = repository.for_tenant(principal.tenant_id)
    if status is not None:
        query = query.where(Conversation.status == status)
    if channel is not None:  # inbox
        query = query.where(Conversation.channel == Channel(channel).value)
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
            meta={"event": "joined", "user_id": user.id, "by": _actor(by)},
        )
        participant.last_read_seq = conversation.last_seq
        if conversation.status == Status.waiting:
            conversation.status = Status.active
        # inbox: the agent has read it all (their counts learn it; the join message told
        # them otherwise a moment ago).
        emit_unread(
            tx,
            conversation_id=conversation.id,
            channel=conversation.channel,
            last_seq=conversation.last_seq,
            pointers=[(user.id, conversation.last_seq)],
        )
    _emit_joined(tx, conversation, user.id, participant.role, by)
    return participant


def _emit_joined(
    tx: UnitOfWork, conversation: Conversation, user_id: str, role: str, by: Principal
) -> None:
    tx.emit_domain(
        DomainEvent(
            PARTICIPANT_JOINED,
            conversation.tenant_id,
            {
                "conversation_id": conversation.id,
                "user_id": user_id,
                "role": role,
                "by": _actor(by),
            },
        )
    )


async def do_join(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, only_waiting: bool = False
) -> ConversationRead:
    """An agent takes a waiting conversation; an admin joins any open one (assigning
    themselves). An agent cannot take a conversation that is already active: an admin assigns
    it, or an agent taking part transfers it (`do_add_participant`). `only_waiting` (a pick
    from the queue) refuses an active one to admins too."""
    conversation = await repository.lock(tx.session, conversation_id, principal.tenant_id)
    if conversation is None:
        raise conversation_not_found()
    if not principal.is_staff or principal.user_id is None:
        # A customer may know its own conversation; anyone else learns nothing.
        await access_conversation(tx.session, principal, conversation_id)
        _refuse_system(principal, "join a conversation; it assigns an agent instead")
        raise Forbidden("Only staff join conversations.")
    if conversation.status == Status.ended:
        raise ConversationEnded()
    user = await get_user(tx.session, principal, principal.user_id)
    existing = await repository.get_participant(tx.session, conversation.id, user.id)
    if existing is not None and existing.role == ParticipantRole.agent and existing.left_at is None:
        return await _view_for(tx, conversation, principal)  # already taking part
    if conversation.status != Status.waiting and (only_waiting or not principal.is_admin):
        raise Conflict(
            "Another agent has this conversation: an admin can assign it to you, or its agent "
            "can transfer it.",
            code="conversation_taken",
        )
    await _staff_join(tx, conversation, user, role=ParticipantRole.agent, by=principal)
    await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


def _is_taking_part_agent(principal: Principal, access: Access) -> bool:
    part = access.participant
    return (
        principal.role == Role.agent
        and not principal.is_service
        and part is not None
        and part.role == ParticipantRole.agent
        and part.left_at is None
    )


async def do_add_participant(
    tx: UnitOfWork,
    principal: Principal,
    conversation_id: str,
    *,
    user_id: str,
    role: str,
    transfer: bool = False,
) -> ConversationRead:
    """An admin, a service key or the system actor assigns an agent or adds an observer; an
    agent taking part brings in another agent, and with `transfer` hands the conversation over
    (the caller leaves it)."""
    access = await _locked_access(tx, principal, conversation_id)
    agent_here = _is_taking_part_agent(principal, access)
    if not (principal.is_admin or principal.is_service or principal.is_system or agent_here):
        raise Forbidden(
            "Only admins, or an agent taking part in the conversation, assign people to it."
        )
    if agent_here and role != ParticipantRole.agent:
        raise Forbidden("Agents hand conversations to agents; admins add observers.")
    if transfer and not agent_here:
        raise BadRequest(
            "Only an agent taking part in the conversation can transfer it.",
            code="not_transferable",
        )
    conversation = access.conversation
    if conversation.status == Status.ended:
        raise ConversationEnded()
    user = await get_user(tx.session, principal, user_id)
    if not user.is_staff:
        raise BadRequest("Only agents and admins can be assigned.", code="not_staff")
    if transfer and user.id == principal.user_id:
        raise BadRequest(
            "An agent cannot transfer a conversation to itself.", code="not_transferable"
        )
    existing = await repository.get_participant(tx.session, conversation.id, user.id)
    # Assigning someone to what they already have changes nothing (and says nothing twice).
    already = (
        existing is not None
        and existing.left_at is None
        and existing.role in (role, ParticipantRole.agent)
    )
    if not already:
        await _staff_join(tx, conversation, user, role=role, by=principal)
        if role == ParticipantRole.observer:
            await _announce_observer(tx, conversation, user)
    if transfer:
        assert access.participant is not None
        await _leave(tx, conversation, access.participant, principal, reason="transfer")
    if not already or transfer:
        await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


async def _leave(
    tx: UnitOfWork,
    conversation: Conversation,
    participant: Participant,
    by: Principal,
    *,
    reason: str,
) -> None:
    participant.left_at = tx.now
    await tx.session.flush()
    await do_append_system_message(
        tx,
        conversation,
        body=f"{by.display_name} handed the conversation over and left.",
        meta={"event": "left", "user_id": participant.user_id, "reason": reason},
    )
    tx.emit_domain(
        DomainEvent(
            PARTICIPANT_LEFT,
            conversation.tenant_id,
            {"conversation_id": conversation.id, "user_id": participant.user_id, "reason": reason},
        )
    )


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
    """An admin starts observing (read-only). Participants are told if the tenant says so.
    An ended conversation takes no new participants: the admin reads it from outside."""
    access = await _locked_access(tx, principal, conversation_id)
    _refuse_system(principal, "observe a conversation")
    if not principal.is_admin or principal.user_id is None:
        raise Forbidden("Only admins observe conversations.")
    if access.participant is None and access.conversation.status != Status.ended:
        await _observe(tx, access.conversation, principal)
    return await _view_for(tx, access.conversation, principal)


async def _observe(tx: UnitOfWork, conversation: Conversation, principal: Principal) -> Participant:
    """Add the admin as an observer (the caller holds the lock and checked it is not one)."""
    assert principal.user_id is not None
    user = await get_user(tx.session, principal, principal.user_id)
    participant = _add_participant(tx, conversation, user.id, ParticipantRole.observer)
    await tx.session.flush()
    await _announce_observer(tx, conversation, user)
    await _announce(tx, conversation)
    _emit_joined(tx, conversation, user.id, ParticipantRole.observer, principal)
    return participant


def _end_reason(principal: Principal, access: Access, requested: str | None) -> str:
    if principal.is_customer:
        return EndReason.customer
    if requested:
        return requested
    if principal.is_system:
        raise BadRequest(
            "The system actor names why it ends a conversation.", code="reason_required"
        )
    if principal.is_admin or principal.is_service:
        part = access.participant
        return EndReason.agent if part and part.role == ParticipantRole.agent else EndReason.admin
    return EndReason.agent


async def do_end(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, reason: str | None
) -> ConversationRead:
    """End the conversation: its customer, its agents, an admin, a service key or the system
    actor (sweeps, webhooks)."""
    access = await _locked_access(tx, principal, conversation_id)
    part = access.participant
    may_end = (
        principal.is_admin
        or principal.is_service
        or principal.is_system
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
    await _end(tx, principal, conversation, _end_reason(principal, access, reason))
    return await _view_for(tx, conversation, principal)


async def _end(
    tx: UnitOfWork, principal: Principal, conversation: Conversation, end_reason: str
) -> None:
    """End a conversation whose row the caller has locked and found not ended."""
    who = principal.display_name or "The service"
    await do_append_system_message(
        tx,
        conversation,
        body=f"{who} ended the conversation ({end_reason.replace('_', ' ')}).",
        meta={
            "event": "ended",
            "user_id": principal.user_id,
            "reason": end_reason,
            "by": _actor(principal),
        },
    )
    conversation.status = Status.ended
    conversation.ended_at = tx.now
    conversation.ended_by_id = principal.user_id
    conversation.end_reason = end_reason
    await _announce(tx, conversation)
    tx.emit_domain(
        DomainEvent(
            ENDED,
            conversation.tenant_id,
            {
                "conversation_id": conversation.id,
                "reason": end_reason,
                "ended_by_id": principal.user_id,
                "by": _actor(principal),
            },
        )
    )


async def find_expired(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of up to `limit` conversations past their `closes_at`."""
    return await repository.due_to_close(tx.session, now=tx.now, limit=limit)


async def do_close_expired(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """End the conversation as its tenant's system actor (reason `expired`) if, under its row
    lock, it is still open and past its `closes_at`; False when another sweep (or anyone)
    ended it first, or its deadline moved. Safe to call from any number of nodes at once."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if (
        conversation is None
        or conversation.status == Status.ended
        or conversation.closes_at is None
        or conversation.closes_at > tx.now
    ):
        return False
    await _end(tx, Principal.system_actor(tenant_id), conversation, EndReason.expired)
    return True


# desk: the inactivity deadline of support conversations (parlour.tickets.inactivity).
async def do_close_idle(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, *, idle_since: datetime
) -> bool:
    """End the conversation as its tenant's system actor (reason `inactivity`) if, under its
    row lock, it is still open and nothing was written in it since `idle_since`; False when it
    ended already or a message came in meanwhile. Safe to call from any number of nodes."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if (
        conversation is None
        or conversation.status == Status.ended
        or conversation.last_activity_at > idle_since
    ):
        return False
    await _end(tx, Principal.system_actor(tenant_id), conversation, EndReason.inactivity)
    return True


async def do_mark_read(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, seq: int
) -> ReadState:
    """Move the caller's read pointer forward to `seq` and tell the others (read receipts)."""
    access = await access_conversation(tx.session, principal, conversation_id)
    _refuse_system(principal, "keep a read pointer")
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
        private = is_private_reader(part, private=await private_in(tx, conversation.tenant_id))
        tx.emit(
            read_event(
                conversation_id=conversation.id, user_id=part.user_id, seq=seq, private=private
            )
        )
        if part.left_at is None:  # inbox
            emit_unread(
                tx,
                conversation_id=conversation.id,
                channel=conversation.channel,
                last_seq=conversation.last_seq,
                pointers=[(part.user_id, seq)],
            )
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


# routing: the router's and the admins' assignments, and work going back to the queue. The
# caller (parlour.routing.service) holds the agent's routing row lock; these lock the
# conversation after it, always in that order (docs/routing.md).
REASSIGNED = "reassigned"
OFFLINE = "offline"


async def do_assign_routed(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, user_id: str
) -> bool:
    """The router gives a waiting conversation to an agent, as the tenant's system actor:
    the agent becomes its agent participant ("… was assigned to the conversation."). Locks
    the conversation and re-checks under the lock that it still waits; False, writing
    nothing, when it does not (an agent picked it, it ended)."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if conversation is None or conversation.status != Status.waiting:
        return False
    system = Principal.system_actor(tenant_id)
    user = await get_user(tx.session, system, user_id)
    await _staff_join(tx, conversation, user, role=ParticipantRole.agent, by=system)
    await _announce(tx, conversation)
    return True


async def current_agent_ids(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> list[str]:
    """Who is the current agent of the conversation (normally one), for the router; no access
    check, not locked."""
    rows = await repository.current_agents(tx.session, conversation_id, tenant_id)
    return [p.user_id for p, _ in rows]


async def do_reassign(
    tx: UnitOfWork, principal: Principal, conversation_id: str, *, user_id: str
) -> ConversationRead:
    """An admin (or a service key, or the system actor) makes `user_id` the conversation's
    agent: they join it, and whoever was its agent leaves ("A was reassigned to B.")."""
    if not (principal.is_admin or principal.is_service or principal.is_system):
        await access_conversation(tx.session, principal, conversation_id)  # 404 first
        raise Forbidden("Only admins reassign conversations.", code="admin_only")
    access = await _locked_access(tx, principal, conversation_id)
    conversation = access.conversation
    if conversation.status == Status.ended:
        raise ConversationEnded()
    user = await get_user(tx.session, principal, user_id)
    if not user.is_staff:
        raise BadRequest("Only agents and admins can be assigned.", code="not_staff")
    if not user.is_active:
        raise BadRequest("This user may not sign in.", code="user_inactive")
    current = await repository.current_agents(tx.session, conversation.id, conversation.tenant_id)
    others = [(p, name) for p, name in current if p.user_id != user.id]
    if len(others) == len(current):
        await _staff_join(tx, conversation, user, role=ParticipantRole.agent, by=principal)
    elif not others:
        return await _view_for(tx, conversation, principal)  # already theirs: nothing to do
    for participant, name in others:
        participant.left_at = tx.now
        await tx.session.flush()
        await do_append_system_message(
            tx,
            conversation,
            body=f"{name} was reassigned to {user.display_name}.",
            meta={
                "event": "left",
                "user_id": participant.user_id,
                "reason": REASSIGNED,
                "by": _actor(principal),
            },
        )
        _emit_left(tx, conversation, participant.user_id, REASSIGNED)
    await _announce(tx, conversation)
    return await _view_for(tx, conversation, principal)


async def do_return_to_queue(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, user_id: str
) -> bool:
    """An agent who went offline leaves a conversation they have not answered yet, and it
    waits again (unless another agent is in it). Re-checked under the conversation's lock
    (a reply sent meanwhile keeps it theirs); False, writing nothing, when it no longer
    applies."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if conversation is None or conversation.status != Status.active:
        return False
    participant = await repository.get_participant(tx.session, conversation.id, user_id)
    if (
        participant is None
        or participant.role != ParticipantRole.agent
        or participant.left_at is not None
        or await message_service.has_sent(tx, conversation.id, user_id)
    ):
        return False
    user = await get_user(tx.session, Principal.system_actor(tenant_id), user_id)
    participant.left_at = tx.now
    await tx.session.flush()
    await do_append_system_message(
        tx,
        conversation,
        body=f"{user.display_name} went offline; the conversation waits for an agent again.",
        meta={"event": "left", "user_id": user_id, "reason": OFFLINE, "by": "system"},
    )
    if not await repository.current_agents(tx.session, conversation.id, tenant_id):
        conversation.status = Status.waiting
    await _announce(tx, conversation)
    _emit_left(tx, conversation, user_id, OFFLINE)
    return True


def _emit_left(tx: UnitOfWork, conversation: Conversation, user_id: str, reason: str) -> None:
    tx.emit_domain(
        DomainEvent(
            PARTICIPANT_LEFT,
            conversation.tenant_id,
            {"conversation_id": conversation.id, "user_id": user_id, "reason": reason},
        )
    )


# appointments: what the appointments domain does to its appointment's conversation. The
# caller acts for the business (its own access checks passed); each locks the row first.


async def do_set_closes_at(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, closes_at: datetime
) -> None:
    """Move an open conversation's deadline (earlier or later; a past one closes at the next
    sweep). An ended conversation is refused with `conversation_ended`."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if conversation is None:
        raise conversation_not_found()
    if conversation.status == Status.ended:
        raise ConversationEnded()
    conversation.closes_at = closes_at
    await _announce(tx, conversation)


async def do_post_notice(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, *, body: str, meta: dict[str, object]
) -> bool:
    """Append a system message to an open conversation; False (nothing posted) if it ended."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if conversation is None:
        raise conversation_not_found()
    if conversation.status == Status.ended:
        return False
    await do_append_system_message(tx, conversation, body=body, meta=dict(meta))
    return True


async def do_end_by_system(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, *, reason: str
) -> bool:
    """End the conversation as the tenant's system actor with `reason`; False if it had
    already ended."""
    conversation = await repository.lock(tx.session, conversation_id, tenant_id)
    if conversation is None:
        raise conversation_not_found()
    if conversation.status == Status.ended:
        return False
    await _end(tx, Principal.system_actor(tenant_id), conversation, reason)
    return True


# payments: read a conversation under its row lock, to decide on it and then change it in the
# same transaction (the no-expert refund checks nobody joined, then ends it).
async def locked_view(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> ConversationRead:
    """The conversation as `principal` may read it, its row locked until the transaction ends."""
    access = await _locked_access(tx, principal, conversation_id)
    return await _view_for(tx, access.conversation, principal)


# timing: time limits and ratings lock the conversation before their own rows, as every
# lifecycle change does (docs/time-limits-ratings-transcripts.md).
async def lock_conversation(
    tx: UnitOfWork, conversation_id: str, tenant_id: str
) -> Conversation | None:
    """The tenant's conversation with its row locked until the transaction ends (None when it
    does not exist there). For another domain's change that must serialise with the lifecycle
    (joins, ends, sends); the caller does its own access check."""
    return await repository.lock(tx.session, conversation_id, tenant_id)


# import: `parlour import` brings conversations another system recorded (parlour.importer).


async def do_import_conversation(
    tx: UnitOfWork,
    tenant_id: str,
    *,
    kind: str,
    channel: str,
    status: str,
    subject: str | None,
    customer_id: str,
    agent_ids: list[str],
    created_at: datetime,
    ended_at: datetime | None,
    end_reason: str | None,
    closes_at: datetime | None = None,
    summary: str | None = None,
) -> Conversation:
    """A conversation as another system recorded it, with its own times, status and people
    (the customer and the agents who took part). History, not news: no "started" notice and no
    events; its messages follow through `messages.service.do_import_messages`, which numbers
    them. The people must be the tenant's: the customer a customer, the agents staff."""
    if status not in Status.__members__:
        raise BadRequest(f"Unknown conversation status '{status}'.", code="invalid_status")
    if (status == Status.ended) != (ended_at is not None and end_reason is not None):
        raise BadRequest(
            "An ended conversation needs ended_at and end_reason (and only it).",
            code="invalid_status",
        )
    if end_reason is not None and end_reason not in EndReason.__members__:
        raise BadRequest(f"Unknown end reason '{end_reason}'.", code="invalid_end_reason")
    system = Principal.system_actor(tenant_id)
    customer = await get_user(tx.session, system, customer_id)
    if customer.role != Role.customer:
        raise BadRequest("Conversations are opened for customers.", code="not_a_customer")
    for agent_id in agent_ids:
        if not (await get_user(tx.session, system, agent_id)).is_staff:
            raise BadRequest("Only staff take part as agents.", code="not_staff")
    conversation = Conversation(
        id=new_id(),
        tenant_id=tenant_id,
        kind=kind,
        channel=channel,
        status=status,
        subject=(subject or "")[:200] or None,
        customer_id=customer.id,
        created_by_id=None,
        created_at=created_at,
        last_activity_at=ended_at or created_at,
        closes_at=closes_at,
        ended_at=ended_at,
        end_reason=end_reason,
        last_seq=0,
        summary=summary,
    )
    tx.session.add(conversation)
    for user_id, role in [(customer.id, ParticipantRole.customer)] + [
        (a, ParticipantRole.agent) for a in dict.fromkeys(agent_ids) if a != customer.id
    ]:
        participant = _add_participant(tx, conversation, user_id, role)
        participant.joined_at = created_at
    await tx.session.flush()
    return conversation
