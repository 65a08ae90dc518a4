"""Message queries: seq allocation, bulk insert, history pages."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from parlour.models.conversation import Conversation, Participant, Status
from parlour.models.message import Message


async def allocate_seqs(
    session: AsyncSession, conversation_id: str, count: int, *, now: datetime, allow_ended: bool
) -> int | None:
    """Reserve `count` seqs; returns the new last seq, or None if the conversation has ended.

    One UPDATE both locks the row (PostgreSQL) and increments, in the same transaction as the
    insert, so seqs have no gaps and concurrent writers queue behind each other.
    """
    stmt = (
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + count, last_activity_at=now)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    )
    if not allow_ended:
        stmt = stmt.where(Conversation.status != Status.ended)
    return (await session.execute(stmt)).scalar_one_or_none()


# The batch statements are built once: SQLAlchemy then reuses their cache key and compiled
# form instead of rebuilding them for every batch (a visible cost at thousands of batches/s).
_LOCK_FOR_SEND = (
    select(Conversation, Participant)
    .outerjoin(
        Participant,
        and_(
            Participant.conversation_id == Conversation.id,
            # inbox: the senders' rows, and every current participant's (their unread counts).
            or_(
                Participant.user_id.in_(bindparam("user_ids", expanding=True)),
                Participant.left_at.is_(None),
            ),
        ),
    )
    .where(Conversation.id.in_(bindparam("conversation_ids", expanding=True)))
    .order_by(Conversation.id)
    .with_for_update(of=Conversation)
    # Whatever this session loaded before, the values under the lock win.
    .execution_options(populate_existing=True)
)


async def lock_for_send(
    session: AsyncSession, conversation_ids: Collection[str], user_ids: Collection[str]
) -> list[tuple[Conversation, Participant | None]]:
    """The conversations a batch sends into, each with the senders' participant rows and
    those of everyone else still in it (whom the new messages are unread for).

    One query for the whole batch. On PostgreSQL it locks the conversation rows (in id order,
    so concurrent batches cannot deadlock) until the transaction ends, so `last_seq` and
    `status` read here stay true until the batch commits; SQLite's writing transactions hold
    the database's write lock from their first statement, which gives the same.
    """
    # The lock's fresh values overwrite loaded objects (populate_existing), so first write out
    # anything the caller changed and has not flushed yet (a no-op in the writer's session).
    await session.flush()
    params = {"conversation_ids": list(conversation_ids), "user_ids": list(user_ids)}
    return [(c, p) for c, p in await session.execute(_LOCK_FOR_SEND, params)]


# Core tables for the batch statements: executemany without the ORM's per-row bookkeeping.
_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
_PARTICIPANTS = cast(Table, Participant.__table__)

_SET_LAST_SEQ = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("b_id"))
    .values(last_seq=bindparam("b_last_seq"), last_activity_at=bindparam("b_now"))
)


async def set_last_seqs(
    session: AsyncSession, last_seqs: Mapping[str, int], *, now: datetime
) -> None:
    """Store each conversation's new last seq (locked by `lock_for_send`) in one statement."""
    if last_seqs:
        await session.execute(
            _SET_LAST_SEQ,
            [
                {"b_id": cid, "b_last_seq": seq, "b_now": now}
                for cid, seq in sorted(last_seqs.items())
            ],
        )


async def insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many messages in one statement (Core: the rows need no ORM bookkeeping)."""
    await session.execute(insert(_MESSAGES), rows)


_ADVANCE_READ = (
    update(_PARTICIPANTS)
    .where(
        _PARTICIPANTS.c.conversation_id == bindparam("b_conversation_id"),
        _PARTICIPANTS.c.user_id == bindparam("b_user_id"),
        _PARTICIPANTS.c.last_read_seq < bindparam("b_seq"),
    )
    .values(last_read_seq=bindparam("b_seq"))
)


async def advance_read(session: AsyncSession, pointers: Sequence[tuple[str, str, int]]) -> None:
    """Move (conversation_id, user_id) read pointers forward to seq (never back)."""
    if pointers:
        await session.execute(
            _ADVANCE_READ,
            [{"b_conversation_id": c, "b_user_id": u, "b_seq": s} for c, u, s in pointers],
        )


@functools.cache
def _client_ids_query(size: int) -> ExecutableReturnsRows:
    """Messages matching any of `size` (conversation, sender, client_msg_id) keys.

    The keys are joined as a VALUES list (its columns are column1..3 on both SQLite and
    PostgreSQL), which both answer with one lookup in the unique index per key and plan in
    constant time; an OR of `size` matches costs PostgreSQL's planner tens of milliseconds
    at a few hundred keys. Built once per size, and sizes are rounded up to a power of two,
    so a handful of statements serve every batch.
    """
    rows = ", ".join(f"(:c{i}, :s{i}, :k{i})" for i in range(size))
    sql = text(
        f"SELECT messages.* FROM messages JOIN (VALUES {rows}) AS wanted "
        "ON messages.conversation_id = wanted.column1 "
        "AND messages.sender_id = wanted.column2 "
        "AND messages.client_msg_id = wanted.column3"
    )
    return select(Message).from_statement(sql)


async def find_by_client_ids(
    session: AsyncSession, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Message]:
    """Existing messages by (conversation_id, sender_id, client_msg_id)."""
    if not keys:
        return {}
    size = 1 << (len(keys) - 1).bit_length()
    params: dict[str, str] = {}
    for i in range(size):
        # Padding repeats the last key: the same match again changes nothing.
        c, s, k = keys[min(i, len(keys) - 1)]
        params.update({f"c{i}": c, f"s{i}": s, f"k{i}": k})
    found = await session.scalars(_client_ids_query(size), params)
    return {(m.conversation_id, m.sender_id or "", m.client_msg_id or ""): m for m in found}


async def find_by_external_ids(
    session: AsyncSession, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Message]:
    """Existing messages by (tenant_id, channel, external_id), the provider's id (unique)."""
    if not keys:
        return {}
    clauses = [
        and_(Message.tenant_id == t, Message.channel == c, Message.external_id == e)
        for t, c, e in keys
    ]
    found = await session.scalars(select(Message).where(or_(*clauses)))
    return {(m.tenant_id, m.channel, m.external_id or ""): m for m in found}


async def page(
    session: AsyncSession,
    conversation_id: str,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> tuple[list[Message], bool]:
    """Messages in seq order and whether more lie beyond the page.

    With `after_seq` the page starts just after it (catching up); otherwise it is the newest
    `limit` messages before `before_seq` (scrolling back), or the newest of all.
    """
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    if after_seq is not None:
        query = query.where(Message.seq > after_seq).order_by(Message.seq).limit(limit + 1)
        rows = list(await session.scalars(query))
        return rows[:limit], len(rows) > limit
    query = query.order_by(Message.seq.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    return list(reversed(rows[:limit])), more


async def last_messages(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> dict[str, Message]:
    """The newest message of each conversation, in one query."""
    with_messages = [c for c in conversations if c.last_seq > 0]
    if not with_messages:
        return {}
    clauses = [
        and_(Message.conversation_id == c.id, Message.seq == c.last_seq) for c in with_messages
    ]
    found = await session.scalars(select(Message).where(or_(*clauses)))
    return {m.conversation_id: m for m in found}


# routing: has an agent answered yet?
async def has_sent(session: AsyncSession, conversation_id: str, user_id: str) -> bool:
    """Whether the user has sent any message in the conversation."""
    found = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.sender_id == user_id)
        .limit(1)
    )
    return found is not None


async def last_sent_seqs(
    session: AsyncSession, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(conversation_id, sender_id) → the seq of that sender's newest message there."""
    if not pairs:
        return {}
    conversation_ids = sorted({c for c, _ in pairs})
    sender_ids = sorted({u for _, u in pairs})
    rows = await session.execute(
        select(Message.conversation_id, Message.sender_id, func.max(Message.seq))
        .where(Message.conversation_id.in_(conversation_ids), Message.sender_id.in_(sender_ids))
        .group_by(Message.conversation_id, Message.sender_id)
    )
    wanted = set(pairs)
    return {(c, u): int(s) for c, u, s in rows if u is not None and (c, u) in wanted}


# import: imported history counts as read by everyone already in the conversation.
async def mark_all_read(session: AsyncSession, conversation_id: str, seq: int) -> None:
    """Move every participant's read pointer forward to `seq` (never back)."""
    await session.execute(
        update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.last_read_seq < seq)
        .values(last_read_seq=seq)
        .execution_options(synchronize_session=False)
    )


# inbox: whom a system message is unread for.
async def current_read_pointers(
    session: AsyncSession, conversation_id: str
) -> list[tuple[str, int]]:
    """(user_id, last_read_seq) of the conversation's participants who have not left."""
    await session.flush()  # autoflush is off: a participant just added or left counts as such
    rows = await session.execute(
        select(Participant.user_id, Participant.last_read_seq).where(
            Participant.conversation_id == conversation_id, Participant.left_at.is_(None)
        )
    )
    return [(user_id, seq) for user_id, seq in rows]
