"""Attachment queries."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.attachment import Attachment

_ATTACHMENTS = cast(Table, Attachment.__table__)


async def get(session: AsyncSession, attachment_id: str) -> Attachment | None:
    return await session.get(Attachment, attachment_id)


async def unsent_by(session: AsyncSession, tenant_id: str, user_id: str) -> tuple[int, int]:
    """(how many, how many bytes) of the user's uploads that are not part of a message yet."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Attachment.size), 0)).where(
                Attachment.tenant_id == tenant_id,
                Attachment.uploaded_by_id == user_id,
                Attachment.message_id.is_(None),
            )
        )
    ).one()
    return int(row[0]), int(row[1])


def add(session: AsyncSession, attachment: Attachment) -> None:
    session.add(attachment)


async def lock_many(session: AsyncSession, ids: Collection[str]) -> dict[str, Attachment]:
    """The attachments with these ids, locked until the transaction ends (PostgreSQL; SQLite's
    writing transaction holds the database lock), in id order so batches cannot deadlock."""
    if not ids:
        return {}
    query = (
        select(Attachment)
        .where(Attachment.id.in_(sorted(ids)))
        .order_by(Attachment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {a.id: a for a in await session.scalars(query)}


_LINK = (
    update(_ATTACHMENTS)
    .where(_ATTACHMENTS.c.id == bindparam("b_id"), _ATTACHMENTS.c.message_id.is_(None))
    .values(message_id=bindparam("b_message_id"))
)


async def link(session: AsyncSession, links: Mapping[str, str]) -> None:
    """Attach each attachment to its message, in one statement for the whole batch."""
    if links:
        await session.execute(
            _LINK, [{"b_id": a, "b_message_id": m} for a, m in sorted(links.items())]
        )
