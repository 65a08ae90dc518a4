"""The search queries: the full-text index of each backend, and conversations by their fields.

The index itself is made and kept by migration 0016 (an FTS5 table on SQLite, a generated
`tsvector` column with a GIN index on PostgreSQL); its names are repeated here because the
ORM models do not describe it. Callers pass the access condition (`readable_by`) and filters
as SQL conditions on `Conversation` and `Message`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, column, func, literal_column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.conversation import Conversation, Participant, ParticipantRole
from parlour.models.message import Message, MessageKind
from parlour.models.user import User
from parlour.search.query import Filters, SearchQuery

FTS_TABLE = "messages_fts"  # SQLite (migration 0016)
TSV_COLUMN = "messages.search_vector"  # PostgreSQL (migration 0016)
TS_CONFIG = "'simple'::regconfig"
# Relevance is computed among at most this many matches a caller may read, the newest first:
# ranking every message that holds a common word ("order", "refund") costs more than a search
# may, and a caller who wants older ones narrows the words or the dates (docs/search.md).
CANDIDATES = 2000
# ts_rank_cd normalisation 1: divide by 1 + log(length), so long messages do not win by size.
TS_RANK_NORMALISATION = 1
# SQLite: a caller with at most this many messages in their own conversations is searched by
# one FTS5 lookup per message (cost bounded by what they may read); beyond, the lookups cost
# more than walking their tenant's matches in the index (tenant-bounded too), so that is used.
OWN_LOOKUPS = 500


@dataclass(frozen=True, slots=True)
class MessageHit:
    message: Message
    conversation: Conversation


def _conversation_filters(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.channel is not None:
        where.append(Conversation.channel == filters.channel)
    if filters.status is not None:
        where.append(Conversation.status == filters.status)
    if filters.agent_id is not None:
        where.append(
            Conversation.id.in_(
                select(Participant.conversation_id).where(
                    Participant.user_id == filters.agent_id,
                    Participant.role == ParticipantRole.agent,
                )
            )
        )
    return where


@dataclass(frozen=True, slots=True)
class Scope:
    """Which messages a search may walk. `readable` (a condition on `Conversation`) decides
    what the caller may read; `own` says it is limited to their own conversations (customers,
    agents, an admin's message hits), so the walk starts from those conversations, not from
    the word's matches. Otherwise the walk is bounded by the tenant in the index itself."""

    tenant_id: str
    readable: ColumnElement[bool]
    own: bool


def _readable_conversations(scope: Scope, filters: Filters) -> Select[str]:
    return select(Conversation.id).where(
        Conversation.tenant_id == scope.tenant_id, scope.readable, *_conversation_filters(filters)
    )


def _fts5_string(text: str) -> str:
    # An FTS5 string: double quotes, an inner one doubled (ids are hex: none in practice).
    return '"' + text.replace('"', '""') + '"'


def _sqlite_ranked(
    query: SearchQuery, scope: Scope, filters: Filters, where: list[ColumnElement[bool]]
) -> Select[str]:
    fts = table(FTS_TABLE, column("rowid"))
    # The table's name stands for its hidden column of the same name in MATCH and bm25().
    hidden: ColumnElement[Any] = literal_column(FTS_TABLE)
    match = f"body : ({query.fts5()})"
    if scope.own:
        return _sqlite_ranked_own(match, scope, filters, where)
    # The tenant's id is an indexed column (migration 0016): FTS5 intersects the word's
    # matches with the tenant's messages, skipping other tenants' in its own doclists.
    match += " AND tenant_id : " + _fts5_string(scope.tenant_id)
    # FTS5 walks its matches newest rowid first and stops at the cap, computing bm25 only
    # for those (the ORDER BY is the index's own order: no sort of every match). The tenant
    # column weighs nothing in the score.
    candidates = (
        select(
            Message.id.label("mid"),
            Message.created_at.label("at"),
            func.bm25(hidden, 1.0, 0.0).label("score"),  # lower is better
        )
        .select_from(
            fts.join(Message, literal_column("messages.rowid") == fts.c.rowid).join(
                Conversation, Conversation.id == Message.conversation_id
            )
        )
        .where(hidden.op("MATCH")(match), *where)
        .order_by(fts.c.rowid.desc())
        .limit(CANDIDATES)
        .subquery("candidates")
    )
    c = candidates.c
    return select(c.mid).order_by(c.score, c.at.desc(), c.mid)


def _sqlite_ranked_own(
    match: str, scope: Scope, filters: Filters, where: list[ColumnElement[bool]]
) -> Select[str]:
    # The caller's own conversations' messages first (by the conversation_id index), then one
    # FTS5 lookup per message by its rowid: the word's matches elsewhere are never walked.
    # (FTS5 as the outer loop with `rowid IN (…)` lets SQLite's planner walk the matches.)
    fts = table(FTS_TABLE, column("rowid"))
    hidden: ColumnElement[Any] = literal_column(FTS_TABLE)
    rowid: ColumnElement[Any] = literal_column("messages.rowid")
    score = (
        select(func.bm25(hidden, 1.0, 0.0))
        .select_from(fts)
        .where(hidden.op("MATCH")(match), fts.c.rowid == rowid)
        .scalar_subquery()
    )
    scored = (
        select(
            Message.id.label("mid"),
            Message.created_at.label("at"),
            rowid.label("rid"),
            score.label("score"),  # lower is better; NULL: no match
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.conversation_id.in_(_readable_conversations(scope, filters)), *where)
        .subquery("scored")
    )
    s = scored.c
    candidates = (
        select(s.mid, s.at, s.score)
        .where(s.score.is_not(None))
        .order_by(s.rid.desc())
        .limit(CANDIDATES)
        .subquery("candidates")
    )
    c = candidates.c
    return select(c.mid).order_by(c.score, c.at.desc(), c.mid)


def _postgresql_ranked(
    query: SearchQuery, scope: Scope, filters: Filters, where: list[ColumnElement[bool]]
) -> Select[str]:
    tsquery = func.to_tsquery(literal_column(TS_CONFIG), query.tsquery())
    vector: ColumnElement[Any] = literal_column(TSV_COLUMN)
    if scope.own:
        # Start from the caller's own conversations (materialised first), then their messages
        # by the (conversation_id, seq) index, each tested against the query.
        own = _readable_conversations(scope, filters).cte("own").prefix_with("MATERIALIZED")
        where = [*where, Message.conversation_id.in_(select(own.c.id))]
        # Tested row by row, never through the GIN index: its lists hold the word's matches
        # in every tenant (the leading tenant column narrows the rows fetched, not the lists
        # read), which is what made a small tenant's search cost grow with another's.
        vector = func.coalesce(vector, literal_column("''::tsvector"))
    # Otherwise `Message.tenant_id == …` in `where` meets the index's leading tenant column
    # (migration 0016): the GIN index intersects the tenant's entry with the word's, so only
    # this tenant's rows are fetched (the word's list is still read, compressed, in the index).
    # The GIN index finds the matches; only the newest CANDIDATES of them are ranked (the
    # rank reads each one's tsvector: the costly part), outside the subquery so that
    # PostgreSQL computes it after the LIMIT.
    candidates = (
        select(
            Message.id.label("mid"),
            Message.created_at.label("at"),
            vector.label("vector"),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(vector.op("@@")(tsquery), *where)
        .order_by(Message.created_at.desc())
        .limit(CANDIDATES)
        .subquery("candidates")
    )
    c = candidates.c
    # Higher is better in PostgreSQL: negate, so both backends sort ascending.
    rank = -func.ts_rank_cd(c.vector, tsquery, TS_RANK_NORMALISATION)
    return select(c.mid).order_by(rank, c.at.desc(), c.mid)


def ranked_messages(
    dialect: str, query: SearchQuery, scope: Scope, filters: Filters
) -> Select[str]:
    """The ids of the matching messages `scope` allows, best first (the statement, so that
    tests can look at how the database runs it)."""
    where = [
        Message.tenant_id == scope.tenant_id,
        # Belt and braces: the index holds no system message (migration 0016) and never will.
        Message.kind != MessageKind.system,
        scope.readable,
        *_conversation_filters(filters),
    ]
    if filters.since is not None:
        where.append(Message.created_at >= filters.since)
    if filters.until is not None:
        where.append(Message.created_at < filters.until)
    if dialect == "postgresql":
        return _postgresql_ranked(query, scope, filters, where)
    return _sqlite_ranked(query, scope, filters, where)


async def _many_own_messages(session: AsyncSession, scope: Scope, filters: Filters) -> bool:
    own = (
        select(Message.id)
        .where(Message.conversation_id.in_(_readable_conversations(scope, filters)))
        .limit(OWN_LOOKUPS + 1)
        .subquery()
    )
    return (await session.scalar(select(func.count()).select_from(own)) or 0) > OWN_LOOKUPS


async def search_messages(
    session: AsyncSession,
    query: SearchQuery,
    *,
    scope: Scope,
    filters: Filters,
    limit: int,
    offset: int,
) -> list[MessageHit]:
    """Messages of readable conversations matching `query`, most relevant first among the
    newest CANDIDATES matches; ties by newest, then id, so pages never overlap or skip."""
    # Nothing to walk when the caller reads no conversation: answer at once.
    readable_one = _readable_conversations(scope, filters).limit(1)
    if scope.own and await session.scalar(readable_one) is None:
        return []
    dialect = session.get_bind().dialect.name
    if scope.own and dialect == "sqlite" and await _many_own_messages(session, scope, filters):
        scope = replace(scope, own=False)  # `readable` still filters every match
    ranked = ranked_messages(dialect, query, scope, filters)
    # Two steps: the page's ids in order (from the index alone), then their rows by key.
    ids = list(await session.scalars(ranked.limit(limit).offset(offset)))
    if not ids:
        return []
    rows = await session.execute(
        select(Message, Conversation)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_(ids))
    )
    found = {m.id: MessageHit(message=m, conversation=c) for m, c in rows.all()}
    return [found[i] for i in ids if i in found]


async def search_conversations(
    session: AsyncSession,
    words: Sequence[str],
    *,
    tenant_id: str,
    readable: ColumnElement[bool],
    filters: Filters,
    with_customer: bool,
    limit: int,
) -> list[tuple[Conversation, User]]:
    """Readable conversations whose subject (and, for staff, customer name or email) holds
    every word, most recently active first. A scan of the readable conversations, not an
    index: there are far fewer of them than messages."""
    fields: list[Any] = [Conversation.subject]
    if with_customer:
        fields += [User.display_name, User.email]
    where = [
        or_(*(field.ilike(f"%{word}%") for field in fields))
        for word in words  # letters and digits only: nothing for LIKE to interpret
    ]
    if filters.since is not None:
        where.append(Conversation.last_activity_at >= filters.since)
    if filters.until is not None:
        where.append(Conversation.created_at < filters.until)
    stmt = (
        select(Conversation, User)
        .join(User, User.id == Conversation.customer_id)
        .where(
            Conversation.tenant_id == tenant_id,
            readable,
            and_(*where),
            *_conversation_filters(filters),
        )
        .order_by(Conversation.last_activity_at.desc(), Conversation.id)
        .limit(limit)
    )
    rows = await session.execute(stmt)
    return [(c, u) for c, u in rows.all()]


async def user_names(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    """Display names by user id."""
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows.all()}
