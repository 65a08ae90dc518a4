"""Unread counts for the inbox: per conversation, per channel, and kept live.

A participant's unread count in a conversation is `last_seq - last_read_seq` (sending moves
the sender's pointer to their message; joining as an agent moves it to the end). The totals
per channel add that up over the conversations the caller currently takes part in (a
participant who left, by transfer or reassignment, no longer counts them), in one query.

Whoever changes one of the two numbers tells the participants concerned, each on their own
feed (`Audience.user`), with an `unread` event: a message batch its conversation's current
participants, a read pointer its reader, a join the agent who joined. Nobody else hears of
it: an agent never learns how much a customer or another agent has read, and a conversation
a user does not take part in never reaches their counts.
"""

from __future__ import annotations

from collections.abc import Iterable

from parlour.auth.principal import Principal
from parlour.conversations import repository
from parlour.conversations.schemas import UnreadTotals
from parlour.core.uow import UnitOfWork
from parlour.models.conversation import Channel
from parlour.realtime.envelopes import unread_event


async def unread_totals(tx: UnitOfWork, principal: Principal) -> UnreadTotals:
    """The caller's unread messages per channel (every known channel, 0 when none). A user
    counts the conversations they take part in; a service key or the system actor reads from
    outside and keeps no read state, so theirs are all 0."""
    found: dict[str, int] = {}
    if principal.user_id is not None:
        found = await repository.unread_by_channel(
            tx.session, principal.tenant_id, principal.user_id
        )
    channels = {c.value: 0 for c in Channel}
    for channel, count in found.items():
        channels[channel] = channels.get(channel, 0) + count
    return UnreadTotals(total=sum(channels.values()), channels=channels)


def emit_unread(
    tx: UnitOfWork,
    *,
    conversation_id: str,
    channel: str,
    last_seq: int,
    pointers: Iterable[tuple[str, int]],
) -> None:
    """Tell each (user_id, last_read_seq) participant, on their own feed, where they stand in
    the conversation now that its last seq is `last_seq` (sent after the commit)."""
    for user_id, read_seq in pointers:
        tx.emit(
            unread_event(
                user_id=user_id,
                conversation_id=conversation_id,
                channel=channel,
                last_seq=last_seq,
                read_seq=min(read_seq, last_seq),
            )
        )
