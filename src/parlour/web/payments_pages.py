"""The payment pages: /plans (with its buy buttons), the checkout form, the built-in test
provider's "test payment" page, the page that waits for the payment to land, /thank-you, and
the admin's plans editor. They call the same services (and the same checkout) as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from parlour.auth.principal import Principal
from parlour.core.errors import AppError, NotFound
from parlour.deps import RuntimeDep
from parlour.models.payment import OrderStatus
from parlour.payments import plans as plan_service
from parlour.payments import service as payments
from parlour.payments.provider import PaymentsNotConfigured
from parlour.payments.routes import begin_checkout, checkout_redirect, ensure_plans, tenant_id_for
from parlour.runtime import Runtime
from parlour.web.navigation import (
    error_page,
    login_redirect,
    not_found_page,
    page_principal,
)
from parlour.web.render import render

router = APIRouter(include_in_schema=False)

# What the API accepts for the same values: anything else (a NUL byte, which PostgreSQL refuses
# in text) is bad input, answered 422 before any query. The form's fields may come empty.
TOKEN = r"^[A-Za-z0-9_\-]+$"
OPTIONAL_TOKEN = r"^[A-Za-z0-9_\-]*$"
OPTIONAL_EMAIL = r"^(|[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+)$"
SessionIdPath = Annotated[str, Path(max_length=255, pattern=TOKEN)]


def _error(
    request: Request, principal: Principal | None, *, status: int, heading: str, text: str
) -> Response:
    # A visitor's way home is the plans page.
    home = None if principal else "/plans"
    return error_page(request, principal, status=status, heading=heading, text=text, home=home)


def _not_found(request: Request, principal: Principal | None) -> Response:
    return not_found_page(request, principal, home=None if principal else "/plans")


def money(amount: int, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency.upper())
    value = f"{amount / 100:,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


@router.get("/plans")
async def plans_page(
    request: Request,
    runtime: RuntimeDep,
    tenant: Annotated[str | None, Query(max_length=64, pattern=OPTIONAL_TOKEN)] = None,
) -> Response:
    principal = await page_principal(request, runtime)
    try:
        tenant_id = await tenant_id_for(runtime, principal, tenant)
    except NotFound:
        return _not_found(request, principal)
    await ensure_plans(runtime, tenant_id)
    async with runtime.uow(write=False) as tx:
        offered = await plan_service.list_plans(tx, principal, tenant_id)
    return render(
        request,
        "plans.html",
        title="Plans",
        principal=principal,
        plans=offered,
        money=money,
        tenant=tenant or "",
        buyer=principal is None or principal.is_customer,
    )


@router.post("/checkout")
async def checkout_form(
    request: Request,
    runtime: RuntimeDep,
    plan: Annotated[str | None, Form(max_length=32, pattern=OPTIONAL_TOKEN)] = None,
    email: Annotated[str | None, Form(max_length=254, pattern=OPTIONAL_EMAIL)] = None,
    extend: Annotated[str | None, Form(max_length=64, pattern=OPTIONAL_TOKEN)] = None,
    tenant: Annotated[str | None, Form(max_length=64, pattern=OPTIONAL_TOKEN)] = None,
) -> Response:
    """The plans page's buy button (and the chat room's extension button): the API's checkout,
    reached by a same-origin form (the CSRF guard has refused any other)."""
    principal = await page_principal(request, runtime)
    try:
        url, guest = await begin_checkout(
            runtime,
            request,
            principal,
            plan=plan or None,
            extend=extend or None,
            email=(email or "").strip() or None,
            tenant=tenant or None,
            allow_guest=True,
        )
    except AppError as exc:
        return _error(
            request, principal, status=exc.status, heading="Could not check out", text=exc.message
        )
    return checkout_redirect(runtime, url, guest)


async def _test_order_page(
    request: Request, runtime: Runtime, principal: Principal, session_id: str, *, error: str = ""
) -> Response:
    async with runtime.uow(write=False) as tx:
        keys = await payments.stripe_keys(
            tx,
            principal.tenant_id,
            settings=runtime.settings,
            server_secret=runtime.secret_key,
        )
        if keys.secret_key:
            raise NotFound()
        payments.require_test_provider(runtime.settings)
        order = await payments.order_for_test_payment(tx, principal, session_id)
    if order.status != OrderStatus.pending:
        return RedirectResponse(f"/checkout/success?session_id={session_id}", status_code=303)
    return render(
        request,
        "checkout_test.html",
        title="Test payment",
        principal=principal,
        order=order,
        price=money(order.amount, order.currency),
        error=error,
    )


def _not_configured(request: Request, principal: Principal, exc: AppError) -> Response:
    return _error(
        request, principal, status=exc.status, heading="Payments are not set up", text=exc.message
    )


@router.get("/checkout/test/{session_id}")
async def test_payment_page(
    session_id: SessionIdPath, request: Request, runtime: RuntimeDep
) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    try:
        return await _test_order_page(request, runtime, principal, session_id)
    except NotFound:
        return _not_found(request, principal)
    except PaymentsNotConfigured as exc:
        return _not_configured(request, principal, exc)


@router.post("/checkout/test/{session_id}")
async def test_payment_pay(
    session_id: SessionIdPath, request: Request, runtime: RuntimeDep
) -> Response:
    """The Pay button: the completion the webhook runs, for the order's own customer, only
    while the tenant has no Stripe key (the CSRF guard refused cross-site posts)."""
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    try:
        async with runtime.uow() as tx:
            keys = await payments.stripe_keys(
                tx,
                principal.tenant_id,
                settings=runtime.settings,
                server_secret=runtime.secret_key,
            )
            await payments.do_pay_test_order(
                tx, principal, session_id, keys=keys, settings=runtime.settings
            )
    except NotFound:
        return _not_found(request, principal)
    except PaymentsNotConfigured as exc:
        return _not_configured(request, principal, exc)
    return RedirectResponse(f"/checkout/success?session_id={session_id}", status_code=303)


@router.get("/checkout/success")
async def checkout_success(
    request: Request,
    runtime: RuntimeDep,
    session_id: Annotated[str | None, Query(max_length=255, pattern=TOKEN)] = None,
) -> Response:
    """Waits for the payment to land (the webhook may come after the customer), then sends the
    customer on. Never an error while waiting: the script polls the order."""
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    if not session_id:
        return RedirectResponse("/plans", status_code=303)
    return render(
        request,
        "checkout_success.html",
        title="Payment received",
        principal=principal,
        data={"session_id": session_id},
    )


@router.get("/thank-you")
async def thank_you(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    return render(request, "thank_you.html", title="Thank you", principal=principal)


@router.get("/admin/plans")
async def admin_plans(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    if not principal.is_admin:
        return _error(
            request,
            principal,
            status=403,
            heading="Not for you",
            text="This page is for admins.",
        )
    await ensure_plans(runtime, principal.tenant_id)
    async with runtime.uow(write=False) as tx:
        rows = await plan_service.list_plans(
            tx, principal, principal.tenant_id, include_inactive=True
        )
        recent = await payments.list_orders(tx, principal, status=None, limit=50)
    return render(
        request,
        "admin_plans.html",
        title="Plans and orders",
        principal=principal,
        plans=rows,
        orders=recent,
        money=money,
        data={"plans": [p.model_dump(mode="json") for p in rows]},
    )
