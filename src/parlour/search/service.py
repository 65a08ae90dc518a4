"""Searching what a caller may read: messages by their words, conversations by their fields.

Access is `conversations.access.readable_by`, the SQL form of the rule that decides reading
one conversation: staff search what they may read (admins and service keys: the tenant's
conversations; agents: those they take or took part in), customers their own; another tenant's
rows are never candidates. System messages are not searchable (docs/search.md says why).
An admin finds messages only where reading them records nothing (conversations they take part
in, ended ones): elsewhere reading is an observation, and search must not be a silent read.
Guests may not search: their one conversation is already on their screen.
"""

from __future__ import annotations

from parlour.auth.principal import Principal
from parlour.conversations.access import readable_by, readable_without_observing
from parlour.core.errors import BadRequest, Forbidden
from parlour.core.uow import UnitOfWork
from parlour.models.user import User
from parlour.search import repository
from parlour.search.query import Filters, parse_query
from parlour.search.schemas import ConversationHitRead, MessageHitRead, SearchPage
from parlour.search.snippet import highlight

MAX_LIMIT = 50
# Relevance pages deeper than this are not worth their cost: refine the search instead.
MAX_OFFSET = 1000
CONVERSATION_HITS = 10


def check_page(limit: int, offset: int) -> None:
    """Raise unless `limit` and `offset` are within bounds."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit")
    if not 0 <= offset <= MAX_OFFSET:
        raise BadRequest(f"offset must be between 0 and {MAX_OFFSET}.", code="invalid_offset")


def check_filters(filters: Filters) -> None:
    """Raise unless the filters make a sensible range."""
    if filters.since and filters.until and filters.since >= filters.until:
        raise BadRequest("`from` must be before `to`.", code="invalid_range")


async def check_may_search(tx: UnitOfWork, principal: Principal) -> None:
    """Raise for a guest: a guest has one conversation, already on screen, and searching
    would only let anyone who makes guests by the dozen cost the server work."""
    if not principal.is_customer or principal.user_id is None:
        return
    user = await tx.session.get(User, principal.user_id)
    if user is None or user.is_guest:
        raise Forbidden("Guests cannot search.", code="search_not_for_guests")


async def search(
    tx: UnitOfWork,
    principal: Principal,
    *,
    text: str,
    filters: Filters,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """The messages matching `text` that `principal` may read, most relevant first, and on
    the first page the conversations whose subject (staff: customer) matches."""
    query = parse_query(text)
    check_page(limit, offset)
    check_filters(filters)
    await check_may_search(tx, principal)
    readable = readable_by(principal)
    scope = repository.Scope(
        tenant_id=principal.tenant_id,
        readable=readable_without_observing(principal),
        # Tenant-wide readers walk their tenant's matches; everyone else their own
        # conversations' messages (docs/search.md, "Cost").
        own=not (principal.is_admin or principal.is_service or principal.is_system),
    )
    hits = await repository.search_messages(
        tx.session,
        query,
        scope=scope,
        filters=filters,
        limit=limit + 1,
        offset=offset,
    )
    more = len(hits) > limit
    hits = hits[:limit]
    names = await repository.user_names(
        tx.session, {h.message.sender_id for h in hits if h.message.sender_id}
    )
    messages = [
        MessageHitRead(
            conversation_id=h.message.conversation_id,
            message_id=h.message.id,
            seq=h.message.seq,
            kind=h.message.kind,
            sender_id=h.message.sender_id,
            sender_name=names.get(h.message.sender_id or ""),
            created_at=h.message.created_at,
            channel=h.message.channel,
            conversation_channel=h.conversation.channel,
            conversation_status=h.conversation.status,
            conversation_subject=h.conversation.subject,
            snippet=highlight(h.message.body, query),
        )
        for h in hits
    ]
    conversations: list[ConversationHitRead] = []
    if offset == 0:
        words = [word for term in query.terms for word in term.words]
        found = await repository.search_conversations(
            tx.session,
            words,
            tenant_id=principal.tenant_id,
            readable=readable,
            filters=filters,
            with_customer=principal.is_staff,
            limit=CONVERSATION_HITS,
        )
        conversations = [
            ConversationHitRead(
                conversation_id=c.id,
                subject=c.subject,
                subject_html=highlight(c.subject or "", query),
                status=c.status,
                channel=c.channel,
                customer_name=customer.display_name if principal.is_staff else None,
                last_activity_at=c.last_activity_at,
            )
            for c, customer in found
        ]
    return SearchPage(
        query=text,
        messages=messages,
        conversations=conversations,
        next_offset=offset + limit if more else None,
    )
