"""Channel-account queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.channel import Channel


async def list_of(session: AsyncSession, tenant_id: str) -> list[Channel]:
    query = select(Channel).where(Channel.tenant_id == tenant_id).order_by(Channel.created_at)
    return list(await session.scalars(query))


async def get(session: AsyncSession, channel_id: str) -> Channel | None:
    """Any tenant's channel by id (inbound webhooks find the tenant through it)."""
    return await session.get(Channel, channel_id)


async def lock(session: AsyncSession, tenant_id: str, channel_id: str) -> Channel | None:
    """The tenant's channel, its row locked until the transaction ends, values fresh."""
    await session.flush()
    query = (
        select(Channel)
        .where(Channel.id == channel_id, Channel.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def by_address(session: AsyncSession, address: str) -> Channel | None:
    return await session.scalar(select(Channel).where(Channel.address == address))


async def by_number(
    session: AsyncSession, tenant_id: str, kind: str, from_number: str
) -> Channel | None:
    return await session.scalar(
        select(Channel).where(
            Channel.tenant_id == tenant_id,
            Channel.kind == kind,
            Channel.from_number == from_number,
        )
    )


def add(session: AsyncSession, channel: Channel) -> None:
    session.add(channel)


async def delete(session: AsyncSession, channel: Channel) -> None:
    await session.delete(channel)
