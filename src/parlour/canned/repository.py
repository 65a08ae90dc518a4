"""Canned-response queries."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.canned import CannedResponse


async def search(
    session: AsyncSession, tenant_id: str, q: str | None, *, limit: int
) -> list[CannedResponse]:
    """A tenant's canned responses, by shortcut; `q` matches the shortcut's start or the
    title anywhere (case-insensitive)."""
    query = select(CannedResponse).where(CannedResponse.tenant_id == tenant_id)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                CannedResponse.shortcut.startswith(needle, autoescape=True),
                func.lower(CannedResponse.title).contains(needle, autoescape=True),
            )
        )
    return list(await session.scalars(query.order_by(CannedResponse.shortcut).limit(limit)))


async def get(session: AsyncSession, tenant_id: str, canned_id: str) -> CannedResponse | None:
    found = await session.get(CannedResponse, canned_id)
    return found if found is not None and found.tenant_id == tenant_id else None


async def by_shortcut(
    session: AsyncSession, tenant_id: str, shortcut: str
) -> CannedResponse | None:
    return await session.scalar(
        select(CannedResponse).where(
            CannedResponse.tenant_id == tenant_id, CannedResponse.shortcut == shortcut
        )
    )


def add(session: AsyncSession, canned: CannedResponse) -> None:
    session.add(canned)


async def delete(session: AsyncSession, canned: CannedResponse) -> None:
    await session.delete(canned)
