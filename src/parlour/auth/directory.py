"""The tenant's people as admins see them: who can be assigned to a conversation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.auth.principal import Principal
from parlour.core.errors import BadRequest, Forbidden
from parlour.models.user import Role, User

MAX_USERS = 500


async def list_users(
    session: AsyncSession, principal: Principal, *, role: Role | None = None, limit: int = 200
) -> list[User]:
    """Active users of the caller's tenant, by name (admins and service keys only)."""
    if not (principal.is_admin or principal.is_service):
        raise Forbidden("Only admins list the people of a tenant.")
    if not 1 <= limit <= MAX_USERS:
        raise BadRequest(f"limit must be between 1 and {MAX_USERS}.", code="invalid_limit")
    query = select(User).where(User.tenant_id == principal.tenant_id, User.is_active.is_(True))
    if role is not None:
        query = query.where(User.role == role)
    query = query.order_by(User.display_name, User.id).limit(limit)
    return list(await session.scalars(query))
