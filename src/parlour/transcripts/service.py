"""Transcripts of one conversation for its readers, and a tenant's export for its admins
(docs/time-limits-ratings-transcripts.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from parlour.auth.principal import SYSTEM_DISPLAY_NAME, Principal
from parlour.conversations import service as conversations
from parlour.core.errors import BadRequest, Forbidden
from parlour.core.uow import UnitOfWork
from parlour.messages import service as messages
from parlour.transcripts import repository
from parlour.transcripts.formats import iso_utc
from parlour.transcripts.schemas import (
    Transcript,
    TranscriptConversation,
    TranscriptLine,
    TranscriptParticipant,
)

EXPORT_BATCH = 50
FORMER = "Former participant"


def attachment_names(attachments: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """The file names a message's attachments carry (the attachments domain stores dicts on
    the message; whichever of `name`, `filename` it uses)."""
    names = []
    for item in attachments or []:
        if isinstance(item, Mapping):
            name = item.get("name") or item.get("filename")
            if isinstance(name, str) and name:
                names.append(name)
    return names


def _line(
    *,
    seq: int,
    created_at: datetime,
    sender_id: str | None,
    kind: str,
    body: str,
    attachments: Sequence[Mapping[str, Any]] | None,
    names: Mapping[str, str],
) -> TranscriptLine:
    return TranscriptLine(
        seq=seq,
        time=iso_utc(created_at),
        sender_id=sender_id,
        sender=names.get(sender_id, FORMER) if sender_id else SYSTEM_DISPLAY_NAME,
        kind=kind,
        body=body,
        attachments=attachment_names(attachments),
    )


async def transcript(tx: UnitOfWork, principal: Principal, conversation_id: str) -> Transcript:
    """The whole conversation for anyone who may read it (others: 404, as for the
    conversation). An admin's read is an observation, as for the conversation itself."""
    view = await conversations.get_conversation(tx, principal, conversation_id)
    names = {p.user_id: p.display_name for p in view.participants}
    lines: list[TranscriptLine] = []
    after = 0
    while True:
        page = await messages.list_messages(
            tx, principal, conversation_id=conversation_id, after_seq=after, limit=messages.MAX_PAGE
        )
        lines += [
            _line(
                seq=m.seq,
                created_at=m.created_at,
                sender_id=m.sender_id,
                kind=m.kind,
                body=m.body,
                attachments=m.attachments,
                names=names,
            )
            for m in page.messages
        ]
        if not page.has_more or not page.messages:
            break
        after = page.messages[-1].seq
    return Transcript(
        conversation=TranscriptConversation(
            id=view.id,
            kind=view.kind,
            channel=view.channel,
            status=view.status,
            subject=view.subject,
            customer_id=view.customer_id,
            created_at=view.created_at,
            ended_at=view.ended_at,
            end_reason=view.end_reason,
            ended_by_id=view.ended_by_id,
            participants=[
                TranscriptParticipant(
                    user_id=p.user_id,
                    display_name=p.display_name,
                    role=p.role,
                    joined_at=p.joined_at,
                    left_at=p.left_at,
                )
                for p in view.participants
            ],
        ),
        messages=lines,
    )


# -- the tenant export -------------------------------------------------------------------------


def parse_moment(value: str, *, name: str) -> datetime:
    """`2026-03-01` (midnight UTC) or an ISO 8601 time (no offset: UTC) → an aware UTC time."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"`{name}` is a date (2026-03-01) or an ISO 8601 time.", code="invalid_range"
        ) from None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"`{name}` is out of range.", code="invalid_range") from None


def check_range(start: datetime, end: datetime) -> None:
    if start >= end:
        raise BadRequest("`from` must be before `to`.", code="invalid_range")


def check_may_export(principal: Principal) -> None:
    """Admins (and the system actor, for `parlour export`) export their tenant."""
    if not (principal.is_system or (principal.is_admin and not principal.is_service)):
        raise Forbidden("Only admins export conversations.", code="admin_only")


async def count_export(tx: UnitOfWork, principal: Principal, start: datetime, end: datetime) -> int:
    check_may_export(principal)
    check_range(start, end)
    return await repository.count_between(tx.session, principal.tenant_id, start, end)


Cursor = tuple[datetime, str]


async def export_batch(
    tx: UnitOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    after: Cursor | None,
    limit: int = EXPORT_BATCH,
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """The next `limit` conversations created in [start, end), oldest first, each as one JSON
    Lines record (the conversation, its participants and every message), and the cursor after
    them (None when this was the last batch)."""
    check_may_export(principal)
    check_range(start, end)
    found = await repository.conversations_between(
        tx.session, principal.tenant_id, start, end, after=after, limit=limit
    )
    ids = [c.id for c in found]
    participants = await repository.participants_of(tx.session, ids)
    by_conversation = await repository.messages_of(tx.session, ids)
    records = []
    for c in found:
        parts = participants.get(c.id, [])
        names = {p.user_id: name for p, name in parts}
        records.append(
            {
                "id": c.id,
                "kind": c.kind,
                "channel": c.channel,
                "status": c.status,
                "subject": c.subject,
                "customer_id": c.customer_id,
                "created_at": iso_utc(c.created_at),
                "ended_at": iso_utc(c.ended_at) if c.ended_at else None,
                "end_reason": c.end_reason,
                "ended_by_id": c.ended_by_id,
                "participants": [
                    {
                        "user_id": p.user_id,
                        "display_name": name,
                        "role": p.role,
                        "joined_at": iso_utc(p.joined_at),
                        "left_at": iso_utc(p.left_at) if p.left_at else None,
                    }
                    for p, name in parts
                ],
                "messages": [
                    _line(
                        seq=m.seq,
                        created_at=m.created_at,
                        sender_id=m.sender_id,
                        kind=m.kind,
                        body=m.body,
                        attachments=m.attachments,
                        names=names,
                    ).model_dump(mode="json")
                    for m in by_conversation.get(c.id, [])
                ],
            }
        )
    cursor = (found[-1].created_at, found[-1].id) if len(found) == limit else None
    return records, cursor
