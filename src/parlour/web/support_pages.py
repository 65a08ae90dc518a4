"""The support desk's public pages: `/support` (a full page on our own site), the widget's
panel `/support/embed` (framed by the tenant's listed sites only) and `/widget.js`.

Why an iframe (docs/support-desk.md): the panel runs on Parlour's own origin, so the host
page's CSS cannot restyle it and its scripts cannot read the conversation, the guest's token
(kept in the frame's own storage) or the DOM; and every call the panel makes is same-origin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from parlour.auth.service import find_tenant_by_slug
from parlour.core import rls
from parlour.deps import RuntimeDep
from parlour.models.tenant import Tenant
from parlour.web.navigation import error_page
from parlour.web.render import STATIC, render

router = APIRouter(include_in_schema=False)

SlugQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
WIDGET = STATIC / "widget.js"


def _plural(label: str) -> str:
    return label if label.endswith("s") else f"{label}s"


async def _support_page(
    request: Request, runtime: RuntimeDep, slug: str | None, *, embedded: bool
) -> Response:
    # rls: a public page: the tenant by its slug, before anyone signs in.
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        tenant: Tenant | None = await find_tenant_by_slug(tx.session, slug)
    if tenant is None:
        return error_page(
            request,
            None,
            status=404,
            heading="Not found",
            text="There is no support desk here.",
            home="/",
        )
    settings = tenant.typed_settings
    response = render(
        request,
        "support.html",
        title="Support",
        tenant_name=tenant.name,
        embedded=embedded,
        staff_label_plural=_plural(settings.staff_label),
        max_chars=runtime.settings.max_message_chars,
        data={
            "tenant": tenant.slug,
            "tenant_name": tenant.name,
            "staff_label": settings.staff_label,
            "max_chars": runtime.settings.max_message_chars,
            "embedded": embedded,
            # Where the panel may hand the guest's credential when its own storage is blocked.
            "widget_origins": list(settings.widget_allowed_origins) if embedded else [],
        },
    )
    if embedded:
        # Framed only by the sites the tenant lists (and ourselves); the rest of the policy
        # (scripts only from here, no inline code) stays as on every page.
        ancestors = " ".join(["'self'", *settings.widget_allowed_origins])
        policy = response.headers["Content-Security-Policy"].replace(
            "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
        )
        response.headers["Content-Security-Policy"] = policy
        del response.headers["X-Frame-Options"]  # superseded by frame-ancestors
    return response


@router.get("/support")
async def support_page(request: Request, runtime: RuntimeDep, tenant: SlugQuery = None) -> Response:
    """A visitor's support chat on Parlour's own site."""
    return await _support_page(request, runtime, tenant, embedded=False)


@router.get("/support/embed")
async def support_embed(
    request: Request, runtime: RuntimeDep, tenant: SlugQuery = None
) -> Response:
    """The widget's panel, in an iframe on the tenant's listed sites."""
    return await _support_page(request, runtime, tenant, embedded=True)


@router.get("/widget.js")
async def widget_script() -> Response:
    """The embed script: `<script src="https://HOST/widget.js" data-tenant="slug">`."""
    return Response(
        WIDGET.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
            # Loadable by any site (it is public code), also under Cross-Origin-Embedder-Policy.
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
