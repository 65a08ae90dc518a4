"""Tickets: one per support conversation, and the public support start that makes both.

- `do_start_support`: a visitor (a new guest) or a signed-in customer writes; in ONE unit of
  work the guest, the `support` conversation (through conversations.service, so it is
  `waiting` and routing finds it), the first message and the ticket (numbered per tenant) are
  made. A customer whose last support conversation has ended gets a new one whose ticket
  names the earlier (`previous_ticket_id`); one still open gets the message instead.
- Staff list and change tickets (readers rule: staff of the tenant who may read the ticket's
  conversation; an agent's queue shows waiting tickets redacted).
- Resolving (or closing) a ticket ends its conversation (reason `agent`); a conversation's end,
  whatever its reason, resolves its ticket (`do_resolve_for_ended`, from the
  `conversation.ended` hook or in the same transaction).

Lock order, on every path: the conversation's row, then the ticket's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from parlour.auth.principal import Principal
from parlour.auth.service import (
    do_create_guest,
    find_tenant_by_slug,
    get_tenant,
    get_user,
    lock_user,
    principal_for,
)
from parlour.conversations import service as conversations
from parlour.conversations.access import access_conversation
from parlour.conversations.schemas import ConversationRead
from parlour.core.errors import BadRequest, Conflict, ConversationEnded, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.origins import origin_in
from parlour.core.uow import UnitOfWork
from parlour.messages import service as messages
from parlour.models.conversation import Conversation, EndReason, Status
from parlour.models.tenant import Tenant
from parlour.models.ticket import Ticket, TicketPriority, TicketStatus
from parlour.models.user import User
from parlour.tickets import repository
from parlour.tickets.schemas import (
    MAX_SUBJECT,
    EarlierTicket,
    TicketHistory,
    TicketPage,
    TicketRead,
)

KIND = "support"
MAX_PAGE = 200
# How many earlier tickets (and messages of each) the history shows.
HISTORY_TICKETS = 10
HISTORY_MESSAGES = 200
# The end reason when staff resolve (or close) a ticket.
RESOLVE_REASON = EndReason.agent

# Which status may follow which. Resolved and closed tickets have an ended conversation, so
# they never reopen: the customer writing again starts a new, linked ticket.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.open: frozenset(
        {TicketStatus.pending, TicketStatus.resolved, TicketStatus.closed}
    ),
    TicketStatus.pending: frozenset(
        {TicketStatus.open, TicketStatus.resolved, TicketStatus.closed}
    ),
    TicketStatus.resolved: frozenset({TicketStatus.closed}),
    TicketStatus.closed: frozenset(),
}
ENDING = frozenset({TicketStatus.resolved, TicketStatus.closed})


def ticket_not_found() -> NotFound:
    return NotFound("Ticket not found.", code="ticket_not_found")


def _staff_only(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("Only staff handle tickets.", code="staff_only")


def _subject(subject: str | None, message: str) -> str:
    """The given subject, or the first line of the first message."""
    text = (subject or "").strip() or message.strip().splitlines()[0].strip()
    return text[: MAX_SUBJECT - 1] + "…" if len(text) > MAX_SUBJECT else text


def _read(row: repository.TicketRow) -> TicketRead:
    t = row.ticket
    hidden = not row.readable
    return TicketRead(
        id=t.id,
        tenant_id=t.tenant_id,
        number=t.number,
        status=TicketStatus(t.status),
        priority=TicketPriority(t.priority),
        subject=None if hidden else t.subject,
        conversation_id=t.conversation_id,
        conversation_status=row.conversation_status,
        customer_id=t.customer_id,
        customer_name=None if hidden else row.customer_name,
        contact_email=None if hidden else t.contact_email,
        assignee_id=row.assignee_id,
        previous_ticket_id=t.previous_ticket_id,
        created_at=t.created_at,
        updated_at=t.updated_at,
        resolved_at=t.resolved_at,
        closed_at=t.closed_at,
        redacted=hidden,
    )


async def _view(tx: UnitOfWork, ticket: Ticket) -> TicketRead:
    await tx.session.flush()
    [row] = await repository.rows_by_ids(tx.session, ticket.tenant_id, [ticket.id])
    return _read(row)


# -- the public support start ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a visitor typed into the start form."""

    message: str
    display_name: str | None = None
    phone: str | None = None
    email: str | None = None
    subject: str | None = None
    client_msg_id: str | None = None


@dataclass(frozen=True, slots=True)
class SupportStart:
    conversation: ConversationRead
    ticket: TicketRead
    # The new guest, when one was made (the edge issues its credential).
    guest: User | None
    created: bool


async def do_start_support(
    tx: UnitOfWork,
    tenant: Tenant,
    principal: Principal | None,
    visitor: Visitor,
    *,
    max_chars: int,
) -> SupportStart:
    """Start (or continue) the caller's support conversation; `principal` None makes a guest.
    Everything happens in the caller's unit of work: all of it, or (on any error) none."""
    messages.check_body(visitor.message, max_chars=max_chars)
    guest = None
    if principal is None:
        guest = await do_create_guest(
            tx.session,
            tenant_id=tenant.id,
            display_name=visitor.display_name,
            phone=visitor.phone,
            now=tx.now,
        )
        principal = principal_for(guest)
    elif principal.tenant_id != tenant.id:
        raise Forbidden("This credential belongs to another tenant.", code="wrong_tenant")
    elif not principal.is_customer:
        raise Forbidden("The support desk is for customers.", code="customers_only")
    assert principal.user_id is not None

    # One customer's starts take turns on its users row (before any conversation or ticket row),
    # so concurrent starts find the one the first made instead of each making its own.
    await lock_user(tx.session, tenant.id, principal.user_id)
    previous = await repository.latest_for_customer(tx.session, tenant.id, principal.user_id)
    if previous is not None:
        view = await conversations.get_conversation(tx, principal, previous.conversation_id)
        if view.status != Status.ended:
            # Still open: the message goes there (a second tab, a lost credential reply).
            await _first_message(tx, principal, view.id, visitor, max_chars)
            return SupportStart(
                conversation=await conversations.get_conversation(tx, principal, view.id),
                ticket=await _view(tx, previous),
                guest=guest,
                created=False,
            )

    subject = _subject(visitor.subject, visitor.message)
    view = await conversations.do_create_conversation(
        tx, principal, kind=KIND, customer_id=None, subject=subject
    )
    await _first_message(tx, principal, view.id, visitor, max_chars)
    ticket = Ticket(
        id=new_id(),
        tenant_id=tenant.id,
        # Last: the counter row stays locked until commit, so take it as late as possible.
        number=await repository.allocate_number(tx.session, tenant.id),
        conversation_id=view.id,
        customer_id=principal.user_id,
        previous_ticket_id=previous.id if previous is not None else None,
        status=TicketStatus.open,
        priority=TicketPriority.normal,
        subject=subject,
        contact_email=visitor.email.strip().lower() if visitor.email else None,
        created_at=tx.now,
        updated_at=tx.now,
    )
    tx.session.add(ticket)
    return SupportStart(
        conversation=await conversations.get_conversation(tx, principal, view.id),
        ticket=await _view(tx, ticket),
        guest=guest,
        created=True,
    )


async def _first_message(
    tx: UnitOfWork, principal: Principal, conversation_id: str, visitor: Visitor, max_chars: int
) -> None:
    await messages.do_send_message(
        tx,
        principal,
        conversation_id=conversation_id,
        body=visitor.message,
        client_msg_id=visitor.client_msg_id,
        max_chars=max_chars,
    )


# -- staff: list, read, change ---------------------------------------------------------------


async def list_tickets(
    tx: UnitOfWork,
    principal: Principal,
    *,
    status: TicketStatus | None = None,
    assignee: str | None = None,
    queue: bool = False,
    before: int | None = None,
    limit: int = 50,
) -> TicketPage:
    """The tenant's tickets, highest number first. `assignee`: a user id, `me`, or `none`
    (no current agent); `queue`: waiting for an agent. Admins and service keys see all;
    agents see the tickets of conversations they take part in, and with `queue` every waiting
    one (redacted unless they take part)."""
    _staff_only(principal)
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}.", code="invalid_limit")
    assignee_id, unassigned = None, False
    if assignee == "none":
        unassigned = True
    elif assignee == "me":
        if principal.user_id is None:
            raise BadRequest("Only a user has tickets of their own.", code="invalid_assignee")
        assignee_id = principal.user_id
    elif assignee:
        assignee_id = assignee
    sees_all = principal.is_admin or principal.is_service or principal.is_system
    rows = await repository.page(
        tx.session,
        principal.tenant_id,
        reader_id=None if sees_all else principal.user_id,
        status=status,
        assignee_id=assignee_id,
        unassigned=unassigned,
        queue=queue,
        before=before,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return TicketPage(
        tickets=[_read(r) for r in rows],
        next_before=rows[-1].ticket.number if more and rows else None,
    )


async def _readable(tx: UnitOfWork, principal: Principal, ticket_id: str) -> Ticket:
    """The ticket, if the caller is staff who may read its conversation (else 404, the same
    as a missing one; customers 403)."""
    _staff_only(principal)
    ticket = await repository.get(tx.session, ticket_id, principal.tenant_id)
    if ticket is None:
        raise ticket_not_found()
    try:
        await access_conversation(tx.session, principal, ticket.conversation_id)
    except NotFound:
        raise ticket_not_found() from None
    return ticket


async def get_ticket(tx: UnitOfWork, principal: Principal, ticket_id: str) -> TicketRead:
    ticket = await _readable(tx, principal, ticket_id)
    return await _view(tx, ticket)


async def do_update_ticket(
    tx: UnitOfWork,
    principal: Principal,
    ticket_id: str,
    *,
    status: TicketStatus | None = None,
    priority: TicketPriority | None = None,
    subject: str | None = None,
) -> TicketRead:
    """Change a ticket's status, priority or subject. Resolving or closing ends its
    conversation first (reason `agent`; only those who may end it may resolve it); a closed
    ticket changes no more (409 `ticket_closed`); a status that may not follow is 409
    `invalid_transition`. Decided under the ticket's row lock."""
    ticket = await _readable(tx, principal, ticket_id)
    if status is not None:
        _check_transition(TicketStatus(ticket.status), status)
    if status in ENDING:
        # The conversation's row first (its lock, then the ticket's: the order every path
        # takes, so a resolve racing the inactivity sweep cannot deadlock). Ended already (by
        # its customer, the sweep): the ticket follows.
        with contextlib.suppress(ConversationEnded):
            await conversations.do_end(tx, principal, ticket.conversation_id, reason=RESOLVE_REASON)
    locked = await repository.lock(tx.session, ticket_id, principal.tenant_id)
    if locked is None:
        raise ticket_not_found()
    current = TicketStatus(locked.status)
    if current == TicketStatus.closed:
        raise Conflict("A closed ticket is final.", code="ticket_closed")
    if status is not None and status != current:
        _check_transition(current, status)
        locked.status = status
        if status == TicketStatus.resolved or (
            status == TicketStatus.closed and not locked.resolved_at
        ):
            locked.resolved_at = tx.now
        if status == TicketStatus.closed:
            locked.closed_at = tx.now
    if priority is not None:
        locked.priority = priority
    if subject is not None:
        locked.subject = subject
    locked.updated_at = tx.now
    return await _view(tx, locked)


def _check_transition(current: TicketStatus, wanted: TicketStatus) -> None:
    if current == TicketStatus.closed:
        raise Conflict("A closed ticket is final.", code="ticket_closed")
    if wanted != current and wanted not in TRANSITIONS[current]:
        raise Conflict(
            f"A {current.value} ticket cannot become {wanted.value}.", code="invalid_transition"
        )


async def ticket_history(tx: UnitOfWork, principal: Principal, ticket_id: str) -> TicketHistory:
    """The tickets this one follows (the same customer's earlier support conversations) with
    their transcripts, for staff who may read this ticket: the agent helping a customer who
    came back reads what was said before, without becoming a participant of the old ones."""
    ticket = await _readable(tx, principal, ticket_id)
    system = Principal.system_actor(principal.tenant_id)
    earlier: list[EarlierTicket] = []
    previous_id = ticket.previous_ticket_id
    while previous_id is not None and len(earlier) < HISTORY_TICKETS:
        previous = await repository.get(tx.session, previous_id, principal.tenant_id)
        if previous is None:
            break
        page = await messages.list_messages(
            tx, system, conversation_id=previous.conversation_id, limit=HISTORY_MESSAGES
        )
        earlier.append(
            EarlierTicket(
                ticket=await _view(tx, previous), messages=page.messages, has_more=page.has_more
            )
        )
        previous_id = previous.previous_ticket_id
    return TicketHistory(earlier=earlier)


# -- support conversations opened elsewhere ----------------------------------------------------


async def do_ensure_ticket(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """Give a support conversation opened another way (the customer's conversations page,
    `POST /conversations`, staff or a key opening one for a customer) its ticket; False when it
    has one (the support start makes it in its own transaction) or is not a support one."""
    if await repository.for_conversation(tx.session, conversation_id, tenant_id) is not None:
        return False
    system = Principal.system_actor(tenant_id)
    view = await conversations.get_conversation(tx, system, conversation_id)
    if view.kind != KIND:
        return False
    previous = await repository.latest_for_customer(tx.session, tenant_id, view.customer_id)
    ticket = Ticket(
        id=new_id(),
        tenant_id=tenant_id,
        number=await repository.allocate_number(tx.session, tenant_id),
        conversation_id=conversation_id,
        customer_id=view.customer_id,
        previous_ticket_id=previous.id if previous is not None else None,
        status=TicketStatus.resolved if view.status == Status.ended else TicketStatus.open,
        priority=TicketPriority.normal,
        subject=_subject(view.subject, "Support conversation"),
        contact_email=None,
        created_at=view.created_at,
        updated_at=tx.now,
        resolved_at=tx.now if view.status == Status.ended else None,
    )
    tx.session.add(ticket)
    await tx.session.flush()
    return True


# -- reactions: a conversation's end, inactivity ---------------------------------------------


async def do_resolve_for_ended(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """Resolve the ticket of a conversation that ended (any reason); idempotent: a ticket
    already resolved or closed (or a conversation without one) changes nothing."""
    ticket = await repository.lock_for_conversation(tx.session, conversation_id, tenant_id)
    if ticket is None or ticket.status not in repository.OPEN_STATUSES:
        return False
    ticket.status = TicketStatus.resolved
    ticket.resolved_at = tx.now
    ticket.updated_at = tx.now
    await tx.session.flush()
    return True


async def find_idle(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    """(conversation id, tenant id) of up to `limit` open tickets' conversations idle for
    longer than their tenant's `support_inactivity_seconds`."""
    found: list[tuple[str, str]] = []
    for tenant_id in await repository.tenants_with_open_tickets(tx.session):
        if len(found) >= limit:
            break
        tenant = await get_tenant(tx.session, tenant_id)
        idle_since = tx.now - timedelta(seconds=tenant.typed_settings.support_inactivity_seconds)
        ids = await repository.idle(
            tx.session, tenant_id, idle_since=idle_since, limit=limit - len(found)
        )
        found.extend((cid, tenant_id) for cid in ids)
    return found


async def do_close_idle(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """End an idle support conversation (reason `inactivity`, by the system actor) and resolve
    its ticket, in this one transaction; False when, under the conversation's lock, it ended
    already or someone wrote meanwhile."""
    tenant = await get_tenant(tx.session, tenant_id)
    idle_since = tx.now - timedelta(seconds=tenant.typed_settings.support_inactivity_seconds)
    closed = await conversations.do_close_idle(
        tx, conversation_id, tenant_id, idle_since=idle_since
    )
    if closed:
        await do_resolve_for_ended(tx, conversation_id, tenant_id)
    return closed


# -- the widget's origins --------------------------------------------------------------------


async def widget_origins(tx: UnitOfWork, tenant_slug: str | None) -> list[str]:
    """The origins the tenant lets embed its widget (none for an unknown tenant)."""
    tenant = await find_tenant_by_slug(tx.session, tenant_slug)
    return list(tenant.typed_settings.widget_allowed_origins) if tenant else []


async def guest_origin_allowed(tx: UnitOfWork, principal: Principal, origin: str) -> bool | None:
    """For a guest's credential: whether it may be used from this browser origin, i.e. one of
    its tenant's `widget_allowed_origins`. None when the caller is not a guest (the rule is
    not theirs: a signed-in user's credential is never widened by a tenant setting)."""
    if principal.user_id is None or principal.is_staff:
        return None
    user = await get_user(tx.session, principal, principal.user_id)
    if not user.is_guest:
        return None
    tenant = await get_tenant(tx.session, principal.tenant_id)
    return origin_in(origin, tenant.typed_settings.widget_allowed_origins)


# import: tickets another system recorded, for conversations `parlour import` brought in.


async def do_import_ticket(
    tx: UnitOfWork,
    conversation: Conversation,
    *,
    status: str,
    priority: str,
    subject: str | None,
    contact_email: str | None,
    created_at: datetime,
    updated_at: datetime,
) -> Ticket:
    """The ticket of an imported support conversation, numbered from the tenant's counter like
    every ticket. Its status agrees with the conversation's: an ended conversation's ticket is
    resolved or closed (an open one is resolved at the end), an open one's is open or pending."""
    if conversation.kind != KIND:
        raise BadRequest("Tickets belong to support conversations.", code="not_support")
    if status not in TicketStatus.__members__:
        raise BadRequest(f"Unknown ticket status '{status}'.", code="invalid_status")
    if priority not in TicketPriority.__members__:
        raise BadRequest(f"Unknown ticket priority '{priority}'.", code="invalid_priority")
    ended = conversation.status == Status.ended
    if ended and status not in ENDING:
        status = TicketStatus.resolved
    elif not ended and status in ENDING:
        raise BadRequest(
            "A resolved or closed ticket needs an ended conversation.", code="invalid_status"
        )
    ticket = Ticket(
        id=new_id(),
        tenant_id=conversation.tenant_id,
        number=await repository.allocate_number(tx.session, conversation.tenant_id),
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        status=status,
        priority=priority,
        subject=(subject or conversation.subject or "Support")[:200],
        contact_email=contact_email.strip().lower() if contact_email else None,
        created_at=created_at,
        updated_at=max(updated_at, created_at),
        resolved_at=conversation.ended_at if ended else None,
        closed_at=conversation.ended_at if status == TicketStatus.closed else None,
    )
    tx.session.add(ticket)
    await tx.session.flush()
    return ticket
