"""The admin's settings page: the tenant's settings and which of its secrets are set.

The page reads through the tenants service like the API does; its script changes them through
`PATCH /api/v1/tenant/settings` and `PUT/DELETE /api/v1/tenant/secrets/{name}`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from parlour.deps import RuntimeDep
from parlour.tenants import service as tenants
from parlour.web.navigation import error_page, login_redirect, page_principal
from parlour.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/admin/settings")
async def admin_settings(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    if not principal.is_admin:
        return error_page(
            request, principal, status=403, heading="Not for you", text="This page is for admins."
        )
    async with runtime.uow(write=False) as tx:
        settings = await tenants.get_settings(tx, principal)
        secrets = await tenants.list_secrets(tx, principal, server_secret=runtime.secret_key)
    return render(
        request,
        "admin_settings.html",
        title="Settings",
        principal=principal,
        settings=settings,
        secrets=secrets,
        data={"secrets": [s.model_dump(mode="json") for s in secrets]},
    )
