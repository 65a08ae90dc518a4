"""Read pointers in batches: many `read` frames and POSTs, one transaction.

A busy client reports reading after every message it shows; one transaction each would take
SQLite's write lock hundreds of times a second for a counter. The read writer
(`conversations/read_writer.py`) hands whatever is waiting to `do_mark_read_many`, which moves
each (conversation, user) pointer once, to the highest seq asked for (pointers never move
back), and tells the conversation once per pointer moved, after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from parlour.auth.principal import Principal
from parlour.conversations import repository
from parlour.conversations.access import access_conversation
from parlour.conversations.receipts import is_private_reader, private_in
from parlour.conversations.schemas import ReadState
from parlour.conversations.unread import emit_unread  # inbox
from parlour.core.errors import AppError, BadRequest
from parlour.core.uow import UnitOfWork
from parlour.realtime.envelopes import read_event


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """`principal` has read `conversation_id` up to `seq`."""

    principal: Principal
    conversation_id: str
    seq: int


async def do_mark_read_many(
    tx: UnitOfWork, requests: list[ReadRequest]
) -> list[ReadState | AppError]:
    """Move the callers' read pointers forward; each request gets the pointer as it stands
    after the batch (the latest seq wins) or the error that refused it."""
    results: list[ReadState | AppError | None] = [None] * len(requests)
    groups: dict[tuple[str, str, str | None, str | None], list[int]] = defaultdict(list)
    for i, r in enumerate(requests):
        p = r.principal
        groups[(p.tenant_id, r.conversation_id, p.user_id, p.api_key_id)].append(i)

    moved: list[tuple[str, str, int]] = []
    for indexes in groups.values():
        first = requests[indexes[0]]
        try:
            access = await access_conversation(tx.session, first.principal, first.conversation_id)
        except AppError as exc:
            for i in indexes:
                results[i] = exc
            continue
        conversation = access.conversation
        valid = []
        for i in indexes:
            if requests[i].seq > conversation.last_seq:
                results[i] = BadRequest(
                    f"seq {requests[i].seq} is beyond the last message ({conversation.last_seq}).",
                    code="invalid_seq",
                )
            else:
                valid.append(i)
        part = access.participant
        if part is None:  # an admin or service key looking from outside keeps no read state
            state = ReadState(
                conversation_id=conversation.id,
                user_id=first.principal.user_id,
                last_read_seq=0,
                unread_count=0,
            )
        else:
            target = max((requests[i].seq for i in valid), default=0)
            if target > part.last_read_seq:
                moved.append((conversation.id, part.user_id, target))
                # attachments: private read receipts tell only the reader's own connections.
                private = is_private_reader(
                    part, private=await private_in(tx, conversation.tenant_id)
                )
                tx.emit(
                    read_event(
                        conversation_id=conversation.id,
                        user_id=part.user_id,
                        seq=target,
                        private=private,
                    )
                )
                if part.left_at is None:  # inbox: the reader's own inbox counts
                    emit_unread(
                        tx,
                        conversation_id=conversation.id,
                        channel=conversation.channel,
                        last_seq=conversation.last_seq,
                        pointers=[(part.user_id, target)],
                    )
            last = max(target, part.last_read_seq)
            state = ReadState(
                conversation_id=conversation.id,
                user_id=part.user_id,
                last_read_seq=last,
                unread_count=max(0, conversation.last_seq - last),
            )
        for i in valid:
            results[i] = state
    await repository.advance_read_pointers(tx.session, moved)
    return [r if r is not None else AppError(code="internal") for r in results]
