"""Queries for a tenant's settings row and its secrets."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.models.tenant import Tenant
from parlour.models.tenant_secret import TenantSecret


async def lock_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    """The tenant, its row locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    writing transaction already holds the database's write lock), with the values read under
    the lock winning over anything this session loaded before."""
    await session.flush()
    query = (
        select(Tenant)
        .where(Tenant.id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def secrets_of(session: AsyncSession, tenant_id: str) -> list[TenantSecret]:
    return list(
        await session.scalars(select(TenantSecret).where(TenantSecret.tenant_id == tenant_id))
    )


async def get_secret(session: AsyncSession, tenant_id: str, name: str) -> TenantSecret | None:
    return await session.scalar(
        select(TenantSecret).where(TenantSecret.tenant_id == tenant_id, TenantSecret.name == name)
    )


async def delete_secret(session: AsyncSession, tenant_id: str, name: str) -> bool:
    """Remove the secret; whether there was one."""
    result = await session.execute(
        delete(TenantSecret)
        .where(TenantSecret.tenant_id == tenant_id, TenantSecret.name == name)
        .returning(TenantSecret.id)
    )
    return result.first() is not None
