"""REST for the tenant's people: the agents an admin can assign."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parlour.auth import directory
from parlour.auth.schemas import UserRead
from parlour.core.http import error_responses
from parlour.core.schemas import OutputModel
from parlour.deps import PrincipalDep, RuntimeDep
from parlour.models.user import Role

router = APIRouter(prefix="/users", tags=["auth"])


class UserPage(OutputModel):
    users: list[UserRead]


@router.get("", response_model=UserPage, responses=error_responses(400, 401, 403, 422))
async def list_users(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    role: Role | None = None,
    limit: Annotated[int, Query(ge=1, le=directory.MAX_USERS)] = 200,
) -> UserPage:
    """The tenant's active users, by name; `role=agent` lists who can be assigned (admins)."""
    async with runtime.uow(write=False) as tx:
        users = await directory.list_users(tx.session, principal, role=role, limit=limit)
    return UserPage(users=[UserRead.model_validate(u) for u in users])
