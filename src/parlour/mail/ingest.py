"""The one way in for inbound mail: the SMTP listener and the webhook both call `receive`.

Outside any transaction: the mail is parsed (in a thread: a large one takes a while), its
attachments prepared (sniffed, images cleaned, in a thread) and stored. Then one short unit of
work per receiving tenant threads it (`service.do_ingest`). When that fails or finds the mail
stored already, the files it stored are deleted again. A unit of work that loses a race (a
concurrent copy of the same mail, a contact made at the same moment, the conversation ended
meanwhile) is run again: the second time it sees what the winner committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from parlour.attachments import service as attachments
from parlour.attachments.inspection import clean_filename, prepare
from parlour.attachments.schemas import MAX_PER_MESSAGE
from parlour.attachments.storage import Storage, StorageError, storage_for
from parlour.core import rls
from parlour.core.errors import AppError, Conflict, NotFound, PayloadTooLarge
from parlour.core.rls import DbScope
from parlour.mail import service
from parlour.mail.parsing import ParsedMail, parse_mail

if TYPE_CHECKING:
    from parlour.runtime import Runtime

log = logging.getLogger(__name__)

# The most recipients of one mail that are looked at (envelope or headers).
MAX_RECIPIENTS = 20
RACE_ATTEMPTS = 3


def unknown_recipient() -> NotFound:
    return NotFound(
        "No recipient of this email is an address this server answers for.",
        code="unknown_recipient",
    )


async def accepts(runtime: Runtime, address: str) -> bool:
    """Whether `address` reaches an enabled email channel account (or a reply address of one)."""
    # rls: the address is all that names the tenant (any tenant's channel may own it).
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        return await service.resolve_recipient(tx, address) is not None


async def receive(
    runtime: Runtime, raw: bytes, recipients: Sequence[str]
) -> list[service.Delivery]:
    """Thread a raw email into each receiving tenant's conversation. `recipients` are the
    envelope's; none given, the message's own Delivered-To / To / Cc headers name them."""
    if len(raw) > runtime.settings.email_max_bytes:
        raise PayloadTooLarge(
            f"Emails are limited to {runtime.settings.email_max_bytes} bytes.",
            code="email_too_large",
        )
    mail = await asyncio.to_thread(parse_mail, raw)
    addresses = list(recipients) or list(mail.header_recipients)
    targets: dict[str, service.Recipient] = {}
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:  # rls: as in `accepts`
        for address in addresses[:MAX_RECIPIENTS]:
            found = await service.resolve_recipient(tx, address)
            # One delivery per tenant: the first of its addresses decides (a reply tag first).
            if found is not None and found.account.tenant_id not in targets:
                targets[found.account.tenant_id] = found
    if not targets:
        raise unknown_recipient()
    return [await _deliver(runtime, mail, target) for target in targets.values()]


async def _store_files(
    runtime: Runtime, storage: Storage, mail: ParsedMail
) -> tuple[list[service.StoredFile], list[str]]:
    """The attachments worth keeping, stored; and a note for each one that was not."""
    settings = runtime.settings
    files: list[service.StoredFile] = []
    notes: list[str] = []
    for a in mail.attachments:
        name = clean_filename(a.filename, a.declared_type)
        if len(files) >= MAX_PER_MESSAGE:
            notes.append(f'[Attachment "{name}" was not kept: at most {MAX_PER_MESSAGE} per email]')
            continue
        if len(a.data) > settings.attachment_max_bytes:
            notes.append(f'[Attachment "{name}" was not kept: it is larger than allowed]')
            continue
        try:
            prepared = await asyncio.to_thread(
                prepare, a.data, max_pixels=settings.attachment_max_image_pixels
            )
        except AppError as exc:
            notes.append(f'[Attachment "{name}" was not kept: {exc.message}]')
            continue
        key = await storage.put(prepared.data)
        thumbnail = await storage.put(prepared.thumbnail) if prepared.thumbnail else None
        filename = clean_filename(a.filename, prepared.content_type)
        files.append(service.StoredFile(filename, prepared, key, thumbnail))
    return files, notes


async def _forget(storage: Storage, files: list[service.StoredFile]) -> None:
    for f in files:
        for key in (f.storage_key, f.thumbnail_key):
            if key:
                with contextlib.suppress(StorageError, OSError):
                    await storage.delete(key)


async def _deliver(
    runtime: Runtime, mail: ParsedMail, target: service.Recipient
) -> service.Delivery:
    settings = runtime.settings
    storage = storage_for(settings)
    quota = attachments.UnsentQuota(
        files=settings.attachment_max_unsent_files, bytes=settings.attachment_max_unsent_bytes
    )
    files, notes = await _store_files(runtime, storage, mail)
    delivery = None
    try:
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                # rls: each receiving tenant's own service
                async with runtime.uow(scope=DbScope.service(target.account.tenant_id)) as tx:
                    delivery = await service.do_ingest(
                        tx,
                        target,
                        mail,
                        files,
                        notes=notes,
                        max_chars=settings.max_message_chars,
                        quota=quota,
                    )
                break
            except (IntegrityError, Conflict) as exc:
                # Lost a race (see the module's docstring): once more, seeing the winner's rows.
                if attempt == RACE_ATTEMPTS or (
                    isinstance(exc, Conflict)
                    and exc.code not in {"email_taken", "conversation_ended"}
                ):
                    raise
                log.info("email %s: retrying after %s", mail.message_id, type(exc).__name__)
    finally:
        if delivery is None or delivery.duplicate:
            await _forget(storage, files)
    assert delivery is not None
    return delivery
