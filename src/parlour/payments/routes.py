"""The payments API: plans, checkout, the Stripe webhook, orders, refunds and evidence."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials
from starlette.responses import RedirectResponse

from parlour.auth import service as auth
from parlour.auth.principal import Principal, db_scope
from parlour.auth.routes import token_response
from parlour.core import csrf, rls
from parlour.core.errors import BadRequest, Forbidden, NotFound, Unauthorized
from parlour.core.http import error_responses
from parlour.core.proxies import client_ip
from parlour.deps import (
    API_KEY,
    BEARER,
    COOKIE,
    ConversationIdPath,
    PrincipalDep,
    RuntimeDep,
    authenticate_credential,
    credential_from,
)
from parlour.models.payment import OrderStatus, Provider
from parlour.models.user import User
from parlour.payments import plans, provider
from parlour.payments import service as payments
from parlour.payments.schemas import (
    AdminOrderRead,
    CheckoutState,
    Evidence,
    ExtensionOffer,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    RefundRequest,
)
from parlour.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["payments"])

IdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
SessionIdPath = Annotated[str, Path(max_length=255, pattern=r"^[A-Za-z0-9_\-]+$")]
SlugQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9\-]*$")]
PlanQuery = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
EmailQuery = Annotated[
    str | None, Query(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
]


async def optional_principal(request: Request, runtime: Runtime) -> Principal | None:
    """The caller if the request carries a valid credential; None for a visitor (a stale
    cookie included: a visitor may still look at plans and buy as a guest)."""
    credential, _ = credential_from(request)
    if not credential:
        return None
    try:
        return await authenticate_credential(runtime, credential)
    except Unauthorized:
        return None


async def _caller_if_any(
    request: Request,
    runtime: RuntimeDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    _api_key: Annotated[str | None, Security(API_KEY)],
    _cookie: Annotated[str | None, Security(COOKIE)],
) -> Principal | None:
    """`optional_principal`, with the ways to authenticate documented."""
    return await optional_principal(request, runtime)


OptionalPrincipalDep = Annotated[Principal | None, Depends(_caller_if_any)]

# Stripe signs each delivery; documented as the scheme that guards the webhook.
STRIPE_SIGNATURE = APIKeyHeader(
    name="Stripe-Signature",
    scheme_name="stripeSignature",
    description="Stripe's signature of the delivery (`t=...,v1=...`), verified with the "
    "tenant's webhook secret.",
    auto_error=False,
)
StripeSignature = Annotated[str | None, Security(STRIPE_SIGNATURE)]


async def tenant_id_for(runtime: Runtime, principal: Principal | None, slug: str | None) -> str:
    if principal is not None:
        return principal.tenant_id
    # rls: a visitor names the tenant by slug, then sees only its public rows.
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        tenant_id = (await auth.get_tenant_by_slug(tx.session, slug)).id
    rls.enter(rls.DbScope(rls.VISITOR, tenant_id))
    return tenant_id


async def ensure_plans(runtime: Runtime, tenant_id: str) -> None:
    """Seed the default plans the first time a tenant's plans are needed (a read first, so the
    common case takes no write lock)."""
    service = rls.DbScope.service(tenant_id)  # rls: the tenant's own bookkeeping
    async with runtime.uow(write=False, scope=service) as tx:
        needed = await plans.needs_defaults(tx, tenant_id)
    if needed:
        async with runtime.uow(scope=service) as tx:
            await plans.do_seed_default_plans(tx, tenant_id)


# --- plans ------------------------------------------------------------------------------------


@router.get("/plans", response_model=list[PlanRead], responses=error_responses(403, 404, 422))
async def list_plans(
    request: Request,
    runtime: RuntimeDep,
    tenant: SlugQuery = None,
    all: bool = False,
) -> list[PlanRead]:
    """The active plans in their sort order (anyone: visitors name the tenant with `tenant`,
    signed-in callers get their own). `all=true`: inactive ones too (admins, with their
    token or cookie)."""
    principal = await optional_principal(request, runtime)
    tenant_id = await tenant_id_for(runtime, principal, tenant)
    await ensure_plans(runtime, tenant_id)
    async with runtime.uow(write=False) as tx:
        return await plans.list_plans(tx, principal, tenant_id, include_inactive=all)


@router.post(
    "/plans",
    response_model=PlanRead,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_plan(body: PlanCreate, principal: PrincipalDep, runtime: RuntimeDep) -> PlanRead:
    """Add a plan (admins); 409 `plan_exists` for a code in use."""
    await ensure_plans(runtime, principal.tenant_id)
    async with runtime.uow() as tx:
        return await plans.do_create_plan(tx, principal, body)


@router.patch(
    "/plans/{plan_id}",
    response_model=PlanRead,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def update_plan(
    plan_id: IdPath, body: PlanUpdate, principal: PrincipalDep, runtime: RuntimeDep
) -> PlanRead:
    """Change a plan (admins): name, price, limit, destination, extension, active, order."""
    async with runtime.uow() as tx:
        return await plans.do_update_plan(tx, principal, plan_id, body)


@router.delete(
    "/plans/{plan_id}", status_code=204, responses=error_responses(401, 403, 404, 409, 422)
)
async def delete_plan(plan_id: IdPath, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    """Delete a plan nobody bought (admins); 409 `plan_in_use` otherwise (deactivate it)."""
    async with runtime.uow() as tx:
        await plans.do_delete_plan(tx, principal, plan_id)
    return Response(status_code=204)


# --- checkout ---------------------------------------------------------------------------------


async def begin_checkout(
    runtime: Runtime,
    request: Request,
    principal: Principal | None,
    *,
    plan: str | None,
    extend: str | None,
    email: str | None,
    tenant: str | None,
    allow_guest: bool,
) -> tuple[str, User | None]:
    """Start a checkout: the URL to send the buyer to (Stripe's page, or the local test
    payment page when the tenant has no Stripe key and the test provider is on) and the guest
    it created, if any, for the caller to sign in. The API and the plans page share it; only
    the page's form (`allow_guest`, a POST the CSRF guard checked) signs a visitor up."""
    guest: User | None = None
    settings = runtime.settings
    # Each checkout stores an order (and maybe a user): bounded per address and per user.
    await runtime.limiter.hit(
        f"checkout:address:{client_ip(request)}", limit=settings.checkout_address_rate_per_minute
    )
    if principal is None:
        if not email:
            raise Unauthorized(
                "Log in, or give an email to check out as a guest.", code="email_required"
            )
        if not allow_guest:
            raise Unauthorized(
                "Log in to check out, or check out as a guest from the plans page.",
                code="login_required",
            )
        if extend:
            raise Unauthorized("Log in to extend a session.")
        await runtime.limiter.hit(
            f"guest:{client_ip(request)}", limit=settings.guest_rate_per_minute
        )
    else:
        await runtime.limiter.hit(
            f"checkout:user:{principal.tenant_id}:{principal.user_id}",
            limit=settings.checkout_rate_per_minute,
        )
    tenant_id = await tenant_id_for(runtime, principal, tenant)
    await ensure_plans(runtime, tenant_id)
    base = str(request.base_url).rstrip("/")
    # rls: a visitor's checkout signs them up as a guest first: like any sign-up, that
    # transaction is the tenant's service's (the rules below still check the guest).
    signing_up = rls.DbScope.service(tenant_id) if principal is None else None
    async with runtime.uow(scope=signing_up) as tx:
        keys = await payments.stripe_keys(
            tx, tenant_id, settings=settings, server_secret=runtime.secret_key
        )
        if principal is None:
            assert email is not None
            guest = await auth.do_create_guest(
                tx.session, tenant_id=tenant_id, display_name=email, phone=None, now=tx.now
            )
            principal = auth.principal_for(guest)
            rls.enter(db_scope(principal))  # rls: from here on the visitor is this guest
            email_for_receipt: str | None = email
        else:
            email_for_receipt = email if principal.is_customer else None
        draft = await payments.prepare_checkout(
            tx, principal, plan_code=plan, extend=extend, customer_email=email_for_receipt
        )
        if not keys.secret_key:
            # A tenant that cannot sell refuses here; the raise rolls back the guest too.
            payments.require_test_provider(settings)
            # The built-in test provider: a local page stands in for Stripe's.
            session_id = payments.new_test_session_id()
            await payments.do_record_pending(
                tx, draft, session_id=session_id, provider=Provider.test
            )
            return f"/checkout/test/{session_id}", guest
    return await open_stripe_checkout(
        runtime, keys.secret_key, draft, base=base, cancel="/plans"
    ), guest


async def open_stripe_checkout(
    runtime: Runtime, secret_key: str, draft: payments.CheckoutDraft, *, base: str, cancel: str
) -> str:
    """Create the Checkout Session for `draft` and record its order as pending; its URL.
    Called outside any transaction: the provider call must not hold one open."""
    created = await provider.create_checkout_session(
        secret_key,
        runtime.settings.stripe_api_base,
        name=draft.name,
        amount=draft.amount,
        currency=draft.currency,
        metadata=draft.metadata(),
        client_reference_id=draft.order_id,
        customer_email=draft.customer_email,
        success_url=f"{base}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base}{cancel}",
        idempotency_key=f"checkout:{draft.order_id}",
    )
    async with runtime.uow() as tx:
        await payments.do_record_pending(tx, draft, session_id=created.id, provider=Provider.stripe)
    return created.url


def checkout_redirect(runtime: Runtime, url: str, guest: User | None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if guest is not None:
        token_response(runtime, response, guest)  # the guest is signed in (cookie)
    return response


@router.get(
    "/checkout",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "To the checkout page (Stripe's, or the local test payment)."},
        **error_responses(401, 403, 404, 409, 422, 429, 503),
    },
)
async def checkout(
    request: Request,
    runtime: RuntimeDep,
    principal: OptionalPrincipalDep,
    plan: PlanQuery = None,
    extend: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")] = None,
    email: EmailQuery = None,
    tenant: SlugQuery = None,
) -> Response:
    """Buy a plan (`plan=chat10`), or more minutes of your running session (`extend=<id>`),
    as a signed-in customer (`email`: where Stripe sends the receipt). A visitor signs up as a
    guest with the plans page's form (POST /checkout), never here: 401 `email_required`
    without an email, `login_required` with one. Answers 303 to the checkout page; 403
    `csrf_rejected` when the session cookie authenticates a request another site sent
    (`Sec-Fetch-Site: cross-site`); 429 `rate_limited` past the checkouts per minute of a user
    or an address; 503 `payments_not_configured` when the tenant cannot take payments."""
    _, from_cookie = credential_from(request)
    if from_cookie and csrf.cross_site_request(request, runtime.settings.origin_allowed):
        raise Forbidden(
            "Cross-site checkout refused: start it from this site's pages.", code=csrf.CODE
        )
    url, guest = await begin_checkout(
        runtime,
        request,
        principal,
        plan=plan,
        extend=extend,
        email=email,
        tenant=tenant,
        allow_guest=False,
    )
    return checkout_redirect(runtime, url, guest)


@router.get(
    "/orders/by-checkout/{session_id}",
    response_model=CheckoutState,
    responses=error_responses(401, 404, 422),
)
async def order_by_checkout(
    session_id: SessionIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> CheckoutState:
    """Your order of a checkout and where to go once it is paid (`destination` stays null
    until the payment lands). Anyone else's: 404."""
    async with runtime.uow(write=False) as tx:
        return await payments.checkout_state(tx, principal, session_id)


@router.get(
    "/conversations/{conversation_id}/extension",
    response_model=ExtensionOffer,
    responses=error_responses(401, 404, 422),
)
async def extension_offer(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> ExtensionOffer:
    """Whether the conversation's customer can buy more minutes now, and their price."""
    async with runtime.uow(write=False) as tx:
        return await payments.extension_offer(tx, principal, conversation_id)


# --- the webhook ------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id_of(value: Any) -> str | None:
    """An id Stripe sends as a string, or as an expanded object."""
    if isinstance(value, dict):
        return _str(value.get("id"))
    return _str(value)


def _paid_checkout(obj: dict[str, Any]) -> payments.PaidCheckout | None:
    session_id = _str(obj.get("id"))
    if session_id is None:
        return None
    amount = obj.get("amount_total")
    metadata = obj.get("metadata")
    return payments.PaidCheckout(
        session_id=session_id,
        paid=obj.get("payment_status") in ("paid", "no_payment_required"),
        amount_total=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=_str(obj.get("currency")),
        payment_intent=_id_of(obj.get("payment_intent")),
        metadata={k: v for k, v in metadata.items() if isinstance(v, str)}
        if isinstance(metadata, dict)
        else {},
    )


COMPLETED = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
EXPIRED = "checkout.session.expired"
REFUNDED = "charge.refunded"
HANDLED = (*COMPLETED, EXPIRED, REFUNDED)


async def _handle_event(runtime: Runtime, tenant_id: str, event: dict[str, Any]) -> str:
    kind: str = event["type"]
    obj: dict[str, Any] = event["data"]["object"]
    if kind not in HANDLED:
        return "ignored"
    async with runtime.uow() as tx:
        if not await payments.do_record_event(tx, tenant_id, event["id"], kind):
            return "duplicate"
        if kind in COMPLETED:
            paid = _paid_checkout(obj)
            order = await payments.do_complete_checkout(tx, tenant_id, paid) if paid else None
            return "fulfilled" if order is not None else "not_fulfilled"
        if kind == EXPIRED:
            session_id = _str(obj.get("id"))
            if session_id:
                await payments.do_expire_checkout(tx, tenant_id, session_id)
            return "expired"
        payment_intent = _id_of(obj.get("payment_intent"))
        if obj.get("refunded") is not True or payment_intent is None:
            return "partial_refund_ignored"
        refunds = (
            (obj.get("refunds") or {}).get("data") if isinstance(obj.get("refunds"), dict) else None
        )
        refund_id = _id_of(refunds[0]) if isinstance(refunds, list) and refunds else None
        order = await payments.do_charge_refunded(
            tx, tenant_id, payment_intent=payment_intent, refund_id=refund_id
        )
        return "refunded" if order is not None else "unknown_payment"


async def _webhook(request: Request, runtime: Runtime, tenant_slug: str | None) -> dict[str, str]:
    payload = await request.body()
    # rls: the tenant by its slug, then the webhook acts as that tenant's service.
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        tenant = await auth.find_tenant_by_slug(tx.session, tenant_slug)
    if tenant is None:
        raise NotFound("Unknown tenant.", code="tenant_not_found")
    rls.enter(rls.DbScope.service(tenant.id))
    async with runtime.uow(write=False) as tx:
        keys = await payments.stripe_keys(
            tx, tenant.id, settings=runtime.settings, server_secret=runtime.secret_key
        )
    if not keys.webhook_secret:
        raise BadRequest("This tenant has no Stripe webhook secret.", code="webhook_not_configured")
    event = provider.verify_event(
        payload, request.headers.get("stripe-signature"), keys.webhook_secret
    )
    outcome = await _handle_event(runtime, tenant.id, event)
    log.info("stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return {"received": "true", "outcome": outcome}


WEBHOOK_DOC = dict(
    response_model=dict[str, str],
    responses=error_responses(400, 404, 413, 422),
)


@router.post("/webhooks/stripe", **WEBHOOK_DOC)  # type: ignore[arg-type]
async def stripe_webhook(
    request: Request, runtime: RuntimeDep, _signature: StripeSignature
) -> dict[str, str]:
    """Stripe's events for the default tenant. The `Stripe-Signature` must verify with the
    tenant's webhook secret and be at most 5 minutes old: otherwise 400 (`signature_missing`,
    `signature_invalid`, `signature_stale`) and nothing changes; 400 `webhook_not_configured`
    without a secret. Handled: `checkout.session.completed`,
    `checkout.session.async_payment_succeeded`, `checkout.session.expired`, `charge.refunded`;
    any other type is answered 200 and ignored. Each event is handled once."""
    return await _webhook(request, runtime, None)


@router.post("/webhooks/stripe/{tenant_slug}", **WEBHOOK_DOC)  # type: ignore[arg-type]
async def stripe_webhook_for(
    tenant_slug: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9\-]*$")],
    request: Request,
    runtime: RuntimeDep,
    _signature: StripeSignature,
) -> dict[str, str]:
    """Stripe's events for the tenant `tenant_slug` (as for the default tenant; 404
    `tenant_not_found` for an unknown one)."""
    return await _webhook(request, runtime, tenant_slug)


# --- admins -----------------------------------------------------------------------------------


@router.get(
    "/admin/orders",
    response_model=list[AdminOrderRead],
    responses=error_responses(401, 403, 422),
)
async def list_orders(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=payments.MAX_ORDERS)] = 50,
) -> list[AdminOrderRead]:
    """The tenant's orders, newest first (admins)."""
    async with runtime.uow(write=False) as tx:
        return await payments.list_orders(tx, principal, status=status, limit=limit)


@router.get(
    "/admin/orders/{order_id}/evidence",
    response_model=Evidence,
    responses=error_responses(401, 403, 404, 422),
)
async def order_evidence(
    order_id: IdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> Evidence:
    """A paid conversation's dispute evidence as JSON (admins): the order, payment and
    refund ids, amounts, the transcript, joins and leaves, minutes billed."""
    async with runtime.uow(write=False) as tx:
        return await payments.evidence(tx, principal, order_id)


@router.post(
    "/admin/orders/{order_id}/refund",
    response_model=AdminOrderRead,
    status_code=202,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def refund_order(
    order_id: IdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    body: RefundRequest | None = None,
) -> AdminOrderRead:
    """Refund a paid order in full (admins): a job asks Stripe (202; the order turns
    `refunded` when it has); the session it paid for ends (`refunded`)."""
    reason = body.reason if body else "requested_by_admin"
    async with runtime.uow() as tx:
        return await payments.do_admin_refund(tx, principal, order_id, reason=reason)
