"""Who may upload, read and attach files; the rules a message's attachment ids must meet.

- Upload: whoever may post in the conversation now (a customer, an agent taking part), as
  themselves (the system actor and service keys have no user to own the file).
- Read: until a message references it, only its uploader (a preview); afterwards every reader
  of the conversation. Anyone else, in this tenant or another, gets 404 as for a file that
  does not exist.
- Attach: at most `MAX_PER_MESSAGE` per message, each of the same tenant and conversation,
  uploaded by the sender, and not attached before. Checked under row locks in the message's
  own transaction (`claim_for_messages`), for a whole batch of sends at once.
- Unsent uploads: one user holds at most `UnsentQuota` of them (files and bytes), so uploads
  never sent cannot fill the disk. Checked before the bytes are stored, and again under a lock
  on the uploader's users row when the upload is recorded (concurrent uploads take turns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parlour.attachments import repository
from parlour.attachments.inspection import Prepared
from parlour.attachments.schemas import (
    MAX_PER_MESSAGE,
    AttachmentRead,
    thumbnail_url_for,
    url_for,
)
from parlour.auth.principal import Principal
from parlour.auth.service import lock_user
from parlour.conversations.access import access_conversation, check_can_post
from parlour.core.errors import AppError, BadRequest, Conflict, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.attachment import Attachment


def attachment_not_found() -> NotFound:
    return NotFound("Attachment not found.", code="attachment_not_found")


def read_model(a: Attachment) -> AttachmentRead:
    return AttachmentRead(
        id=a.id,
        conversation_id=a.conversation_id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        width=a.width,
        height=a.height,
        url=url_for(a.id),
        thumbnail_url=thumbnail_url_for(a.id) if a.thumbnail_key else None,
        created_at=a.created_at,
    )


def _metadata(a: Attachment) -> dict[str, Any]:
    """What a message carries of each attachment (history and live events)."""
    return read_model(a).model_dump(mode="json", exclude={"created_at"})


async def check_may_upload(tx: UnitOfWork, principal: Principal, conversation_id: str) -> None:
    """Raise unless the caller may upload into this conversation now (as they may post)."""
    access = await access_conversation(tx.session, principal, conversation_id)
    check_can_post(principal, access)
    if principal.user_id is None:
        raise Forbidden("Only people taking part upload files.", code="not_a_poster")


@dataclass(frozen=True, slots=True)
class UnsentQuota:
    """The most uploads not yet part of a message one user may hold, in files and in bytes."""

    files: int
    bytes: int


async def check_unsent_quota(
    tx: UnitOfWork, principal: Principal, size: int, quota: UnsentQuota
) -> None:
    """Raise unless one more upload of `size` bytes keeps the caller within the quota."""
    if principal.user_id is None:
        raise Forbidden("Only people taking part upload files.", code="not_a_poster")
    files, stored = await repository.unsent_by(tx.session, principal.tenant_id, principal.user_id)
    if files + 1 > quota.files or stored + size > quota.bytes:
        raise Conflict(
            f"You have {files} uploaded files ({stored} bytes) not yet sent; at most "
            f"{quota.files} files or {quota.bytes} bytes may wait. Send or drop some first.",
            code="too_many_unsent_uploads",
        )


async def do_record_upload(
    tx: UnitOfWork,
    principal: Principal,
    conversation_id: str,
    *,
    filename: str,
    prepared: Prepared,
    storage_key: str,
    thumbnail_key: str | None,
    quota: UnsentQuota,
) -> AttachmentRead:
    """Record a stored upload (the caller may still post, and is within its quota of unsent
    uploads: both checked again, now, the quota under a lock on the uploader's row)."""
    await check_may_upload(tx, principal, conversation_id)
    assert principal.user_id is not None
    await lock_user(tx.session, principal.tenant_id, principal.user_id)
    await check_unsent_quota(tx, principal, len(prepared.data), quota)
    attachment = Attachment(
        id=new_id(),
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        uploaded_by_id=principal.user_id,
        message_id=None,
        filename=filename,
        content_type=prepared.content_type,
        size=len(prepared.data),
        width=prepared.width,
        height=prepared.height,
        storage_key=storage_key,
        thumbnail_key=thumbnail_key,
        thumbnail_content_type=prepared.thumbnail_content_type if thumbnail_key else None,
        created_at=tx.now,
    )
    repository.add(tx.session, attachment)
    await tx.session.flush()
    return read_model(attachment)


async def get_readable(tx: UnitOfWork, principal: Principal, attachment_id: str) -> Attachment:
    """The attachment, if the caller may read it (else 404, whatever the reason)."""
    attachment = await repository.get(tx.session, attachment_id)
    if attachment is None or attachment.tenant_id != principal.tenant_id:
        raise attachment_not_found()
    try:
        await access_conversation(tx.session, principal, attachment.conversation_id)
    except AppError:
        raise attachment_not_found() from None
    if attachment.message_id is None and attachment.uploaded_by_id != principal.user_id:
        raise attachment_not_found()
    return attachment


@dataclass(frozen=True, slots=True)
class Claim:
    """A message about to be sent by `sender_id` into `conversation_id` with these ids."""

    tenant_id: str
    conversation_id: str
    sender_id: str | None
    attachment_ids: tuple[str, ...]


def _unusable(attachment_id: str) -> BadRequest:
    return BadRequest(
        f"Attachment {attachment_id} cannot be attached to this message (upload it into "
        "this conversation first).",
        code="invalid_attachment",
    )


def check_ids(attachment_ids: tuple[str, ...]) -> None:
    """The shape rules, before any lookup."""
    if len(attachment_ids) > MAX_PER_MESSAGE:
        raise BadRequest(
            f"A message may carry at most {MAX_PER_MESSAGE} attachments.",
            code="too_many_attachments",
        )
    if len(set(attachment_ids)) != len(attachment_ids):
        raise BadRequest("An attachment is listed twice.", code="invalid_attachment")


async def claim_for_messages(
    tx: UnitOfWork, claims: list[Claim]
) -> list[list[dict[str, Any]] | AppError]:
    """For each claim, the metadata its message carries, or the error that refuses it. One
    locking query for the whole batch; an attachment two claims of the batch want goes to the
    first. Nothing is written: `link` does that once the messages have ids."""
    wanted = {a for c in claims for a in c.attachment_ids}
    found = await repository.lock_many(tx.session, wanted)
    taken: set[str] = set()
    results: list[list[dict[str, Any]] | AppError] = []
    for claim in claims:
        try:
            check_ids(claim.attachment_ids)
            for attachment_id in claim.attachment_ids:
                a = found.get(attachment_id)
                if (
                    a is None
                    or a.tenant_id != claim.tenant_id
                    or a.conversation_id != claim.conversation_id
                    or a.uploaded_by_id != claim.sender_id
                ):
                    raise _unusable(attachment_id)
                if a.message_id is not None or attachment_id in taken:
                    raise Conflict(
                        f"Attachment {attachment_id} is already part of a message.",
                        code="attachment_already_attached",
                    )
        except AppError as exc:
            results.append(exc)
            continue
        taken.update(claim.attachment_ids)
        results.append([_metadata(found[a]) for a in claim.attachment_ids])
    return results


async def link(tx: UnitOfWork, links: dict[str, str]) -> None:
    """Mark attachments as part of their messages (attachment id → message id)."""
    await repository.link(tx.session, links)
