"""Sending messages (one at a time or in group-committed batches) and reading history."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from parlour.attachments import service as attachments
from parlour.auth.principal import Principal
from parlour.conversations.access import Access, access_conversation, check_can_post, may_read
from parlour.conversations.unread import emit_unread  # inbox
from parlour.core.errors import (
    AppError,
    BadRequest,
    ConversationEnded,
    Forbidden,
    PayloadTooLarge,
    conversation_not_found,
)
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.messages import repository
from parlour.messages.schemas import MessagePage, MessageRead
from parlour.models.conversation import Conversation, Participant
from parlour.models.message import Message, MessageKind
from parlour.realtime.envelopes import message_event

MAX_PAGE = 200


# Kinds the system actor may post for a participant (a user's own sends are `text`).
SYSTEM_SEND_KINDS = frozenset({MessageKind.text, MessageKind.bot})
WEB = "web"
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
MAX_EXTERNAL_ID = 128


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One message to send. A user or guest sends as itself, on the `web` channel. The
    tenant's system actor (webhooks, bots, jobs) sends on behalf of a participant
    (`sender_id`: a bot, a channel contact), names the `channel` it came from and the
    provider's `external_id`, which is unique per tenant and channel: a provider's retry gets
    the original message, as a repeated `client_msg_id` does."""

    principal: Principal
    conversation_id: str
    body: str
    client_msg_id: str | None = None
    kind: str = MessageKind.text
    channel: str = WEB
    external_id: str | None = None
    sender_id: str | None = None
    # attachments: ids of files uploaded into this conversation by the sender (at most 10).
    attachment_ids: tuple[str, ...] = ()

    @property
    def sender(self) -> str | None:
        """The participant the message is from."""
        return self.sender_id or self.principal.user_id


def check_body(body: str, *, max_chars: int, attachments: bool = False) -> None:
    """Raise unless `body` is a sendable message text (it may be empty when the message
    carries attachments)."""
    if not isinstance(body, str) or (not body.strip() and not attachments):
        raise BadRequest("A message needs some text.", code="empty_message")
    if len(body) > max_chars:
        raise PayloadTooLarge(
            f"Messages are limited to {max_chars} characters.", code="message_too_long"
        )


def check_request(request: SendRequest, *, max_chars: int) -> None:
    """Raise unless the request is well formed and its caller may set what it sets."""
    check_body(request.body, max_chars=max_chars, attachments=bool(request.attachment_ids))
    attachments.check_ids(request.attachment_ids)
    principal = request.principal
    if not principal.is_system:
        own = request.sender_id in (None, principal.user_id)
        if not own or request.channel != WEB or request.external_id is not None:
            raise Forbidden(
                "Only the system actor sets a message's sender, channel or external id.",
                code="forbidden",
            )
        if request.kind != MessageKind.text:
            raise BadRequest("Only text messages can be sent here.", code="invalid_kind")
        return
    if request.sender_id is None:
        raise BadRequest("The system actor posts on behalf of a participant.", code="no_sender")
    if request.kind not in SYSTEM_SEND_KINDS:
        raise BadRequest(f"Messages of kind {request.kind!r} cannot be sent.", code="invalid_kind")
    if not _CHANNEL.match(request.channel):
        raise BadRequest(f"Unknown channel {request.channel!r}.", code="invalid_channel")
    if request.external_id is not None and not 0 < len(request.external_id) <= MAX_EXTERNAL_ID:
        raise BadRequest("external_id must be 1 to 128 characters.", code="invalid_external_id")


async def _access_many(
    tx: UnitOfWork,
    requests: list[SendRequest],
    current: defaultdict[str, list[Participant]],  # inbox
) -> list[Access | AppError]:
    """Access for each request's (conversation, sender), with the conversations locked;
    `current` collects each conversation's participants who have not left."""
    ids = {r.conversation_id for r in requests}
    users = {r.sender for r in requests if r.sender}
    conversations: dict[str, Conversation] = {}
    participants: dict[tuple[str, str], Participant] = {}
    for locked, participant in await repository.lock_for_send(tx.session, ids, users):
        conversations[locked.id] = locked
        if participant is not None:
            participants[(participant.conversation_id, participant.user_id)] = participant
            if participant.left_at is None:  # inbox
                current[locked.id].append(participant)
    result: list[Access | AppError] = []
    for r in requests:
        conversation = conversations.get(r.conversation_id)
        if conversation is None or conversation.tenant_id != r.principal.tenant_id:
            result.append(await _not_found(tx, r))
            continue
        part = participants.get((r.conversation_id, r.sender or ""))
        # The system actor sees its tenant's conversations (may_read); whether the participant
        # it posts for may post is check_can_post's question.
        if not may_read(r.principal, conversation, part):
            result.append(await _not_found(tx, r))
            continue
        result.append(Access(conversation=conversation, participant=part))
    return result


async def _not_found(tx: UnitOfWork, request: SendRequest) -> AppError:
    if request.principal.is_system:
        return conversation_not_found()
    try:
        await access_conversation(tx.session, request.principal, request.conversation_id)
    except AppError as exc:
        return exc
    raise AssertionError("unreachable: batch access disagrees with access_conversation")


def _client_key(r: SendRequest) -> tuple[str, str, str] | None:
    if not r.client_msg_id:
        return None
    return (r.conversation_id, r.sender or "", r.client_msg_id)


def _external_key(r: SendRequest) -> tuple[str, str, str] | None:
    if r.external_id is None:
        return None
    return (r.principal.tenant_id, r.channel, r.external_id)


async def do_send_messages(
    tx: UnitOfWork, requests: list[SendRequest], *, max_chars: int
) -> list[MessageRead | AppError]:
    """Send a batch of messages in the caller's transaction. Each request gets its message or
    the error that refused it; a repeated `client_msg_id` (per sender) or `external_id` (per
    tenant and channel) gets the original message and is delivered to nobody twice.

    The idempotency lookup comes before the may-post check: a retry of a message that was
    stored before the conversation ended still gets that message, not `conversation_ended`.

    However many conversations the batch spans, it costs the same few statements: one SELECT
    that locks the conversations and reads the senders' participation, one idempotency
    lookup (two when external ids are given), one UPDATE of the last seqs, one INSERT and one
    UPDATE of the read pointers (the last three executemany). On SQLite each statement is a hop
    to the driver's thread and back, so their number, not the rows, bounds a batch's cost.
    """
    results: list[MessageRead | AppError | None] = [None] * len(requests)
    readable: list[int] = []
    current: defaultdict[str, list[Participant]] = defaultdict(list)  # inbox
    access = await _access_many(tx, requests, current)
    for i, r in enumerate(requests):
        try:
            check_request(r, max_chars=max_chars)
            found = access[i]
            if isinstance(found, AppError):
                raise found
        except AppError as exc:
            results[i] = exc
        else:
            readable.append(i)

    # Idempotency first: earlier sends with the same client_msg_id or external_id.
    client_keys = {k for i in readable if (k := _client_key(requests[i]))}
    external_keys = {k for i in readable if (k := _external_key(requests[i]))}
    by_client = await repository.find_by_client_ids(tx.session, sorted(client_keys))
    by_external = await repository.find_by_external_ids(tx.session, sorted(external_keys))
    accepted: list[int] = []
    for i in readable:
        r = requests[i]
        ck, ek = _client_key(r), _external_key(r)
        original = (by_client.get(ck) if ck else None) or (by_external.get(ek) if ek else None)
        if original is not None:
            results[i] = MessageRead.model_validate(original)
            continue
        try:
            # Under the lock: a conversation that has ended is refused here, never later.
            found = access[i]
            assert isinstance(found, Access)
            check_can_post(r.principal, found)
        except AppError as exc:
            results[i] = exc
        else:
            accepted.append(i)

    # Duplicates within the batch are answered with the first one's message.
    first_in_batch: dict[tuple[str, str, str, str], int] = {}
    duplicate_of: dict[int, int] = {}
    fresh: dict[str, list[int]] = defaultdict(list)
    fresh_order: list[int] = []
    for i in accepted:
        r = requests[i]
        ck, ek = _client_key(r), _external_key(r)
        keys = ([("c", *ck)] if ck else []) + ([("e", *ek)] if ek else [])
        earlier = next((first_in_batch[key] for key in keys if key in first_in_batch), None)
        if earlier is not None:
            duplicate_of[i] = earlier
            continue
        for key in keys:
            first_in_batch[key] = i
        fresh_order.append(i)

    # attachments: the ids each message names, checked and locked for the whole batch at once.
    carried = await _claim_attachments(tx, requests, fresh_order, results)
    for i in fresh_order:
        if results[i] is None:
            fresh[requests[i].conversation_id].append(i)

    rows: list[dict[str, Any]] = []
    locked: dict[str, Conversation] = {}
    last_seqs: dict[str, int] = {}
    read_pointers: dict[tuple[str, str], int] = {}
    links: dict[str, str] = {}
    for conversation_id, indexes in fresh.items():
        found = access[indexes[0]]
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
                "sender_id": r.sender,
                "client_msg_id": r.client_msg_id,
                "channel": r.channel,
                "external_id": r.external_id,
                "meta": None,
                "attachments": carried.get(i, []),
                "created_at": tx.now,
            }
            links.update({a["id"]: row["id"] for a in carried.get(i, [])})
            rows.append(row)
            message = MessageRead.model_validate(row)
            results[i] = message
            tx.emit(message_event(message, conversation_id=conversation_id, seq=seq))
            if r.sender:
                read_pointers[(conversation_id, r.sender)] = seq
    if rows:
        await repository.set_last_seqs(tx.session, last_seqs, now=tx.now)
        await repository.insert_messages(tx.session, rows)
        await repository.advance_read(
            tx.session, [(c, u, s) for (c, u), s in read_pointers.items()]
        )
        await attachments.link(tx, links)
        # Keep the loaded conversations in step with their rows without another UPDATE.
        for conversation_id, last in last_seqs.items():
            set_committed_value(locked[conversation_id], "last_seq", last)
            set_committed_value(locked[conversation_id], "last_activity_at", tx.now)
            emit_unread(  # inbox: each participant's inbox counts
                tx,
                conversation_id=conversation_id,
                channel=locked[conversation_id].channel,
                last_seq=last,
                pointers=_unread_changes(
                    current[conversation_id],
                    read_pointers,
                    before=last - len(fresh[conversation_id]),
                    last=last,
                ),
            )

    for duplicate, original_index in duplicate_of.items():
        results[duplicate] = results[original_index]
    return [r if r is not None else ConversationEnded() for r in results]


def _unread_changes(
    participants: list[Participant],
    read_pointers: dict[tuple[str, str], int],
    *,
    before: int,
    last: int,
) -> list[tuple[str, int]]:
    """inbox: (user_id, read pointer now) of each participant whose unread count the batch
    changed: everyone it brought new messages, not a sender who had read everything before
    their own message (the common case: nothing to tell them)."""
    changed = []
    for p in participants:
        read = max(p.last_read_seq, read_pointers.get((p.conversation_id, p.user_id), 0))
        if last - read != before - p.last_read_seq:
            changed.append((p.user_id, read))
    return changed


async def _claim_attachments(
    tx: UnitOfWork,
    requests: list[SendRequest],
    indexes: list[int],
    results: list[MessageRead | AppError | None],
) -> dict[int, list[dict[str, Any]]]:
    """The attachments' metadata for each request that names some; a request whose ids are
    refused gets its error in `results` (and no message)."""
    with_files = [i for i in indexes if requests[i].attachment_ids]
    if not with_files:
        return {}
    claims = [
        attachments.Claim(
            tenant_id=requests[i].principal.tenant_id,
            conversation_id=requests[i].conversation_id,
            sender_id=requests[i].sender,
            attachment_ids=requests[i].attachment_ids,
        )
        for i in with_files
    ]
    carried: dict[int, list[dict[str, Any]]] = {}
    for i, claimed in zip(
        with_files, await attachments.claim_for_messages(tx, claims), strict=True
    ):
        if isinstance(claimed, AppError):
            results[i] = claimed
        else:
            carried[i] = claimed
    return carried


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
    emit_unread(  # inbox: a system message is unread for everyone still in the conversation
        tx,
        conversation_id=conversation.id,
        channel=conversation.channel,
        last_seq=last,
        pointers=await repository.current_read_pointers(tx.session, conversation.id),
    )
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


# routing: has an agent answered yet?
async def has_sent(tx: UnitOfWork, conversation_id: str, user_id: str) -> bool:
    """Whether the user has sent any message in the conversation (no access check: for
    services that hold the conversation's lock and decide on it)."""
    return await repository.has_sent(tx.session, conversation_id, user_id)


async def last_sent_seqs(
    tx: UnitOfWork, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The seq of each (conversation, user)'s newest own message, for views of conversations
    the caller was already allowed to see (no access check of its own)."""
    return await repository.last_sent_seqs(tx.session, pairs)


# import: messages another system recorded (parlour.importer), numbered like any others.


@dataclass(frozen=True)
class ImportedMessage:
    """One message of another system's history, in its conversation's time order."""

    kind: str
    body: str
    sender_id: str | None
    created_at: datetime
    channel: str = WEB
    external_id: str | None = None


async def do_import_messages(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, items: list[ImportedMessage]
) -> list[str]:
    """Append `items` (oldest first) to a conversation, ended or not, with their own times; the
    seqs come from the conversation's counter like every send's (no gaps, row locked until
    commit). The history counts as read by everyone already in the conversation. Returns the
    new message ids in the order given."""
    if not items:
        return []
    for item in items:
        if item.kind not in MessageKind.__members__:
            raise BadRequest(f"Unknown message kind '{item.kind}'.", code="invalid_kind")
        if not _CHANNEL.match(item.channel):
            raise BadRequest(f"Invalid channel '{item.channel}'.", code="invalid_channel")
    newest = max(item.created_at for item in items)
    last = await repository.allocate_seqs(
        tx.session, conversation_id, len(items), now=newest, allow_ended=True
    )
    if last is None:
        raise conversation_not_found()
    first = last - len(items) + 1
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "conversation_id": conversation_id,
            "seq": first + i,
            "kind": item.kind,
            "body": item.body,
            "sender_id": item.sender_id,
            "client_msg_id": None,
            "meta": {"event": "imported"} if item.kind == MessageKind.system else None,
            "channel": item.channel,
            "attachments": [],
            "external_id": item.external_id,
            "created_at": item.created_at,
        }
        for i, item in enumerate(items)
    ]
    await repository.insert_messages(tx.session, rows)
    await repository.mark_all_read(tx.session, conversation_id, last)
    return [str(row["id"]) for row in rows]
