"""REST for canned responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from parlour.canned import service
from parlour.canned.schemas import CannedCreate, CannedList, CannedRead, CannedUpdate
from parlour.core.http import error_responses
from parlour.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/canned-responses", tags=["canned responses"])

ERRORS = error_responses(400, 401, 403, 404, 409, 422)
CannedIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get("", response_model=CannedList, responses=ERRORS)
async def list_canned_responses(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
) -> CannedList:
    """The tenant's canned responses (staff only), by shortcut; `q` matches the start of a
    shortcut (`/gre` or `gre`) or any part of a title."""
    async with runtime.uow(write=False) as tx:
        return CannedList(canned_responses=await service.list_canned(tx, principal, q=q))


@router.post("", response_model=CannedRead, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_canned_response(
    body: CannedCreate, principal: PrincipalDep, runtime: RuntimeDep
) -> CannedRead:
    """Save a reply under a shortcut unique in the tenant (admins)."""
    async with runtime.uow() as tx:
        return await service.do_create(
            tx, principal, shortcut=body.shortcut, title=body.title, body=body.body
        )


@router.patch("/{canned_id}", response_model=CannedRead, responses=ERRORS)
async def update_canned_response(
    canned_id: CannedIdPath, body: CannedUpdate, principal: PrincipalDep, runtime: RuntimeDep
) -> CannedRead:
    """Change a canned response's shortcut, title or body (admins)."""
    async with runtime.uow() as tx:
        return await service.do_update(
            tx, principal, canned_id, shortcut=body.shortcut, title=body.title, body=body.body
        )


@router.delete(
    "/{canned_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ERRORS,
)
async def delete_canned_response(
    canned_id: CannedIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> None:
    """Delete a canned response (admins)."""
    async with runtime.uow() as tx:
        await service.do_delete(tx, principal, canned_id)
