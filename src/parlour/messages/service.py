"""Sending messages (one at a time or in group-committed batches) and reading history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from parlour.auth.principal import Principal
from parlour.conversations.access import Access, access_conversation, check_can_post, may_read
from parlour.core.errors import AppError, BadRequest, ConversationEnded, PayloadTooLarge
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.messages import repository
from parlour.messages.schemas import MessagePage, MessageRead
from parlour.models.conversation import Conversation, Participant
from parlour.models.message import Message, MessageKind
from parlour.realtime.envelopes import message_event

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class SendRequest:
    principal: Principal
    conversation_id: str
    body: str
    client_msg_id: str | None = None
    kind: str = MessageKind.text


def check_body(body: str, *, max_chars: int) -> None:
    """Raise unless `body` is a sendable message text."""
    if not isinstance(body, str) or not body.strip():
        raise BadRequest("A message needs some text.", code="empty_message")
    if len(body) > max_chars:
        raise PayloadTooLarge(
            f"Messages are limited to {max_chars} characters.", code="message_too_long"
        )


async def _access_many(
    tx: UnitOfWork, requests: list[SendRequest]
) -> dict[tuple[str, str | None], Access | AppError]:
    """Access for every (conversation, sender) in the batch, with the conversations locked."""
    ids = {r.conversation_id for r in requests}
    users = {r.principal.user_id for r in requests if r.principal.user_id}
    conversations: dict[str, Conversation] = {}
    participants: dict[tuple[str, str], Participant] = {}
    for locked, participant in await repository.lock_for_send(tx.session, ids, users):
        conversations[locked.id] = locked
        if participant is not None:
            participants[(participant.conversation_id, participant.user_id)] = participant
    result: dict[tuple[str, str | None], Access | AppError] = {}
    for r in requests:
        key = (r.conversation_id, r.principal.user_id)
        conversation = conversations.get(r.conversation_id)
        if conversation is None or conversation.tenant_id != r.principal.tenant_id:
            result[key] = await _not_found(tx, r)
            continue
        part = participants.get((r.conversation_id, r.principal.user_id or ""))
        if not may_read(r.principal, conversation, part):
            result[key] = await _not_found(tx, r)
            continue
        result[key] = Access(conversation=conversation, participant=part)
    return result


async def _not_found(tx: UnitOfWork, request: SendRequest) -> AppError:
    try:
        await access_conversation(tx.session, request.principal, request.conversation_id)
    except AppError as exc:
        return exc
    raise AssertionError("unreachable: batch access disagrees with access_conversation")


async def do_send_messages(
    tx: UnitOfWork, requests: list[SendRequest], *, max_chars: int
) -> list[MessageRead | AppError]:
    """Send a batch of messages in the caller's transaction. Each request gets its message or
    the error that refused it; a repeated `client_msg_id` gets the original message and is
    delivered to nobody twice.

    However many conversations the batch spans, it costs the same few statements: one SELECT
    that locks the conversations and reads the senders' participation, one idempotency
    lookup, one UPDATE of the last seqs, one INSERT and one UPDATE of the read pointers (the
    last three executemany). On SQLite each statement is a hop to the driver's thread and
    back, so their number, not the rows, bounds a batch's cost.
    """
    results: list[MessageRead | AppError | None] = [None] * len(requests)
    accepted: list[int] = []
    access = await _access_many(tx, requests)
    for i, r in enumerate(requests):
        try:
            check_body(r.body, max_chars=max_chars)
            found = access[(r.conversation_id, r.principal.user_id)]
            if isinstance(found, AppError):
                raise found
            # Under the lock: a conversation that has ended is refused here, never later.
            check_can_post(r.principal, found)
        except AppError as exc:
            results[i] = exc
        else:
            accepted.append(i)

    # Idempotency: earlier sends with the same client_msg_id, in the database or this batch.
    keys = {
        (
            requests[i].conversation_id,
            requests[i].principal.user_id or "",
            requests[i].client_msg_id,
        )
        for i in accepted
        if requests[i].client_msg_id
    }
    existing = await repository.find_by_client_ids(tx.session, [(c, s, k) for c, s, k in keys if k])
    first_in_batch: dict[tuple[str, str, str], int] = {}
    duplicate_of: dict[int, int] = {}
    fresh: dict[str, list[int]] = defaultdict(list)
    for i in accepted:
        r = requests[i]
        key = (r.conversation_id, r.principal.user_id or "", r.client_msg_id or "")
        if r.client_msg_id and key in existing:
            results[i] = MessageRead.model_validate(existing[key])
        elif r.client_msg_id and key in first_in_batch:
            duplicate_of[i] = first_in_batch[key]
        else:
            if r.client_msg_id:
                first_in_batch[key] = i
            fresh[r.conversation_id].append(i)

    rows: list[dict[str, Any]] = []
    locked: dict[str, Conversation] = {}
    last_seqs: dict[str, int] = {}
    read_pointers: dict[tuple[str, str], int] = {}
    for conversation_id, indexes in fresh.items():
        found = access[(conversation_id, requests[indexes[0]].principal.user_id)]
        assert isinstance(found, Access)
        conversation = locked[conversation_id] = found.conversation
        # The row is locked (see repository.lock_for_send): these seqs are ours, gap-free.
        first = conversation.last_seq + 1
        last_seqs[conversation_id] = first + len(indexes) - 1
        for seq, i in enumerate(indexes, start=first):
            r = requests[i]
            row = {
                "id": new_id(),
                "tenant_id": conversation.tenant_id,
                "conversation_id": conversation_id,
                "seq": seq,
                "kind": r.kind,
                "body": r.body,
                "sender_id": r.principal.user_id,
                "client_msg_id": r.client_msg_id,
                "meta": None,
                "attachments": [],
                "created_at": tx.now,
            }
            rows.append(row)
            message = MessageRead.model_validate(row)
            results[i] = message
            tx.emit(message_event(message, conversation_id=conversation_id, seq=seq))
            if r.principal.user_id:
                read_pointers[(conversation_id, r.principal.user_id)] = seq
    if rows:
        await repository.set_last_seqs(tx.session, last_seqs, now=tx.now)
        await repository.insert_messages(tx.session, rows)
        await repository.advance_read(
            tx.session, [(c, u, s) for (c, u), s in read_pointers.items()]
        )
        # Keep the loaded conversations in step with their rows without another UPDATE.
        for conversation_id, last in last_seqs.items():
            set_committed_value(locked[conversation_id], "last_seq", last)
            set_committed_value(locked[conversation_id], "last_activity_at", tx.now)

    for duplicate, original in duplicate_of.items():
        results[duplicate] = results[original]
    return [r if r is not None else ConversationEnded() for r in results]


async def do_send_message(
    tx: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    body: str,
    client_msg_id: str | None,
    max_chars: int,
) -> MessageRead:
    """Send one message in the caller's transaction."""
    request = SendRequest(principal, conversation_id, body, client_msg_id)
    [result] = await do_send_messages(tx, [request], max_chars=max_chars)
    if isinstance(result, AppError):
        raise result
    return result


async def do_append_system_message(
    tx: UnitOfWork, conversation: Conversation, *, body: str, meta: dict[str, Any]
) -> MessageRead:
    """Append a `system` message telling the transcript what happened (ended ones included)."""
    last = await repository.allocate_seqs(
        tx.session, conversation.id, 1, now=tx.now, allow_ended=True
    )
    assert last is not None
    row = {
        "id": new_id(),
        "tenant_id": conversation.tenant_id,
        "conversation_id": conversation.id,
        "seq": last,
        "kind": MessageKind.system,
        "body": body,
        "sender_id": None,
        "client_msg_id": None,
        "meta": meta,
        "attachments": [],
        "created_at": tx.now,
    }
    await repository.insert_messages(tx.session, [row])
    # Keep the loaded object in step with the row without another UPDATE at flush.
    set_committed_value(conversation, "last_seq", last)
    set_committed_value(conversation, "last_activity_at", tx.now)
    message = MessageRead.model_validate(row)
    tx.emit(message_event(message, conversation_id=conversation.id, seq=last))
    return message


async def list_messages(
    tx: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> MessagePage:
    """A page of a conversation's history the caller may read."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}.", code="invalid_limit")
    await access_conversation(tx.session, principal, conversation_id)
    rows, more = await repository.page(
        tx.session, conversation_id, after_seq=after_seq, before_seq=before_seq, limit=limit
    )
    return MessagePage(messages=[MessageRead.model_validate(m) for m in rows], has_more=more)


async def last_messages(tx: UnitOfWork, conversations: list[Conversation]) -> dict[str, Message]:
    """The newest message of each conversation, in one query, for views of conversations the
    caller was already allowed to see (no access check of its own)."""
    return await repository.last_messages(tx.session, conversations)
