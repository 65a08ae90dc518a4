"""REST for the tenant's people: the agents an admin can assign, who may sign in, and the
tenant's service keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from parlour.auth import directory, revocation
from parlour.auth.schemas import ApiKeyRead, UserRead, UserUpdateIn
from parlour.auth.service import get_user
from parlour.core.errors import BadRequest
from parlour.core.http import error_responses
from parlour.core.schemas import OutputModel
from parlour.deps import PrincipalDep, RuntimeDep
from parlour.models.user import Role
from parlour.routing import service as routing  # routing: capacity

# Ids are URL-safe and short; anything else never reaches the database.
IdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]

router = APIRouter(prefix="/users", tags=["auth"])
api_keys_router = APIRouter(prefix="/api-keys", tags=["auth"])


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


@router.patch(
    "/{user_id}", response_model=UserRead, responses=error_responses(400, 401, 403, 404, 413, 422)
)
async def update_user(
    user_id: IdPath, body: UserUpdateIn, principal: PrincipalDep, runtime: RuntimeDep
) -> UserRead:
    """Deactivate (`is_active: false`) or reactivate a user of your tenant (admins; not
    yourself). A deactivated user's tokens stop working at once, open sockets included.
    `capacity` (0-100) sets how many active conversations an agent or admin takes at most."""
    if body.is_active is None and body.capacity is None:
        raise BadRequest("Give is_active or capacity.", code="nothing_to_change")
    async with runtime.uow() as tx:
        if body.capacity is not None:  # routing
            await routing.do_set_capacity(tx, principal, user_id, body.capacity)
        if body.is_active is not None:
            user = await revocation.do_set_user_active(
                tx, principal, user_id, is_active=body.is_active
            )
        else:
            user = await get_user(tx.session, principal, user_id)
        return UserRead.model_validate(user)


@api_keys_router.post(
    "/{key_id}/revoke",
    response_model=ApiKeyRead,
    responses=error_responses(401, 403, 404, 413, 422),
)
async def revoke_api_key(
    key_id: IdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ApiKeyRead:
    """Revoke one of your tenant's service keys (admins). Requests and realtime connections
    using it are refused from now on."""
    async with runtime.uow() as tx:
        key = await revocation.do_revoke_api_key(tx, principal, key_id)
        return ApiKeyRead.model_validate(key)
