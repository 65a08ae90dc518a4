"""REST for the caller's tenant: its settings and its secrets (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from parlour.core.http import error_responses
from parlour.deps import PrincipalDep, RuntimeDep
from parlour.models.tenant_settings import TenantSettings
from parlour.tenants import service
from parlour.tenants.schemas import (
    SecretList,
    SecretName,
    SecretRead,
    SecretWrite,
    TenantSettingsPatch,
)

router = APIRouter(prefix="/tenant", tags=["tenant"])

ERRORS = error_responses(400, 401, 403, 404, 422)


@router.get("/settings", response_model=TenantSettings, responses=ERRORS)
async def get_settings(principal: PrincipalDep, runtime: RuntimeDep) -> TenantSettings:
    """The tenant's settings, defaults filled in."""
    async with runtime.uow(write=False) as tx:
        return await service.get_settings(tx, principal)


@router.patch("/settings", response_model=TenantSettings, responses=ERRORS)
async def update_settings(
    body: TenantSettingsPatch, principal: PrincipalDep, runtime: RuntimeDep
) -> TenantSettings:
    """Change some settings; the others keep their values, `null` resets one to its default.
    An unknown key or a wrong type is a 422 and changes nothing."""
    async with runtime.uow() as tx:
        return await service.do_update_settings(tx, principal, body.model_dump(exclude_unset=True))


@router.get("/secrets", response_model=SecretList, responses=ERRORS)
async def list_secrets(principal: PrincipalDep, runtime: RuntimeDep) -> SecretList:
    """Which secrets are set, and when; never their values."""
    async with runtime.uow(write=False) as tx:
        found = await service.list_secrets(tx, principal, server_secret=runtime.secret_key)
    return SecretList(secrets=found)


@router.put("/secrets/{name}", response_model=SecretRead, responses=ERRORS)
async def put_secret(
    name: SecretName, body: SecretWrite, principal: PrincipalDep, runtime: RuntimeDep
) -> SecretRead:
    """Set or replace a secret. Write-only: no endpoint ever returns the value."""
    async with runtime.uow() as tx:
        return await service.do_put_secret(
            tx, principal, name, body.value, server_secret=runtime.secret_key
        )


@router.delete(
    "/secrets/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ERRORS,
)
async def delete_secret(name: SecretName, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    """Forget a secret."""
    async with runtime.uow() as tx:
        await service.do_delete_secret(tx, principal, name)
