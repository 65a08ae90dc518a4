"""The source layouts `parlour import` knows, one module each, named after the setup guide's
tables (docs/migrating-from-supabase.md):

- `sessions`: sessions, session_participants, chat_messages (paid chat/video/diagnostic);
- `web_chat`: user_sessions, chat_messages, tickets, agents (the support desk);
- `appointments`: appointments, appointment_chats, chat_logs (Stream Chat);
- `whatsapp`: customers, distributors, conversations, messages (WhatsApp/SMS/email).

Each module exposes a `SYSTEM`: the tables that identify it and three readers turning the
source into plans: people, then conversations, then messages (those in time order).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from parlour.importer.plans import ConversationPlan, MessagePlan, Person, Skip
from parlour.importer.sources import Source


@dataclass(frozen=True)
class System:
    name: str
    # Tables that must be there, and (table, column) pairs that tell it from a look-alike
    # (three of the guides have a `chat_messages`, each with its own columns).
    tables: tuple[str, ...]
    marks: tuple[tuple[str, str], ...]
    people: Callable[[Source], AsyncIterator[Person | Skip]]
    conversations: Callable[[Source], AsyncIterator[ConversationPlan | Skip]]
    messages: Callable[[Source], AsyncIterator[MessagePlan | Skip]]
    # The table the messages stream from (its row count sizes the progress bar).
    message_table: str
    describe: str


def all_systems() -> dict[str, System]:
    from parlour.importer.systems import appointments, sessions, web_chat, whatsapp

    return {
        s.name: s for s in (sessions.SYSTEM, web_chat.SYSTEM, appointments.SYSTEM, whatsapp.SYSTEM)
    }


async def _matches(source: Source, system: System) -> bool:
    for table in system.tables:
        if not await source.has_table(table):
            return False
    for table, column in system.marks:
        if column not in await source.columns(table):
            return False
    return True


async def detect(source: Source) -> list[System]:
    """Every layout whose tables (and telling columns) the source has."""
    return [s for s in all_systems().values() if await _matches(source, s)]


async def missing(source: Source, system: System) -> list[str]:
    """What the source lacks for `system`, as `table` or `table.column`."""
    gaps = [t for t in system.tables if not await source.has_table(t)]
    for table, column in system.marks:
        if table not in gaps and column not in await source.columns(table):
            gaps.append(f"{table}.{column}")
    return gaps
