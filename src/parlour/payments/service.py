"""Orders: checkout, the one completion path (webhook and test provider), expiry, refunds,
the no-expert promise and dispute evidence (docs/payments.md).

Money facts are trusted only from a signed Stripe event (or, with the offline test provider,
from the order itself): the amount and currency paid are checked against the order recorded
at checkout. Every change to an order locks its row first and decides under the lock, so
retried, reordered and concurrent deliveries make one paid order and one conversation.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta

from parlour.appointments import service as appointments
from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant, get_user
from parlour.config import Settings
from parlour.conversations import service as conversations
from parlour.conversations.access import access_conversation
from parlour.core.errors import Conflict, ConversationEnded, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.messages import service as messages
from parlour.models.conversation import EndReason, ParticipantRole, Status
from parlour.models.payment import (
    AfterPayment,
    Order,
    OrderPurpose,
    OrderStatus,
    Plan,
    Provider,
)
from parlour.models.tenant import DEFAULT_TENANT_SLUG
from parlour.models.user import Role
from parlour.payments import plans, repository
from parlour.payments.provider import PaymentsNotConfigured, StripeKeys
from parlour.payments.schemas import (
    AdminOrderRead,
    CheckoutState,
    Evidence,
    ExtensionOffer,
    OrderRead,
    ParticipantRecord,
)
from parlour.tenants import service as tenants
from parlour.tenants.schemas import SecretName
from parlour.timing import service as timing

log = logging.getLogger(__name__)

REFUND_JOB = "payments.refund"
MAX_ORDERS = 200
# Test-provider checkout sessions: recognisable, and never a Stripe id.
TEST_SESSION_PREFIX = "cs_parlour_test_"


def order_not_found() -> NotFound:
    # The same answer for a missing order and someone else's.
    return NotFound("No such order.", code="order_not_found")


# --- keys -------------------------------------------------------------------------------------


async def stripe_keys(
    tx: UnitOfWork, tenant_id: str, *, settings: Settings, server_secret: str
) -> StripeKeys:
    """The tenant's Stripe keys: its own secrets, else (for the default tenant only) the
    PARLOUR_STRIPE_* settings. No secret key means the built-in test provider, if it is on
    (`test_provider_enabled`)."""
    tenant = await get_tenant(tx.session, tenant_id)
    is_default = tenant.slug == DEFAULT_TENANT_SLUG

    async def one(name: SecretName, fallback: str) -> str | None:
        value = await tenants.get_secret(tx.session, tenant_id, name, server_secret=server_secret)
        return value or (fallback if is_default and fallback else None)

    return StripeKeys(
        secret_key=await one(SecretName.stripe_secret_key, settings.stripe_secret_key),
        webhook_secret=await one(SecretName.stripe_webhook_secret, settings.stripe_webhook_secret),
    )


def test_provider_enabled(settings: Settings) -> bool:
    """Whether a tenant without a Stripe key may use the built-in test provider (payments that
    move no money): only the demo, or a server that turns PARLOUR_PAYMENTS_TEST_PROVIDER on.
    In production such a tenant cannot sell anything rather than giving it away."""
    return settings.demo or settings.payments_test_provider


def require_test_provider(settings: Settings) -> None:
    if not test_provider_enabled(settings):
        raise PaymentsNotConfigured()


# --- checkout ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutDraft:
    """What a checkout sells, decided before the provider is called (outside a transaction)."""

    order_id: str
    tenant_id: str
    customer_id: str
    customer_email: str | None
    plan_id: str | None
    plan_code: str
    purpose: OrderPurpose
    name: str
    amount: int
    currency: str
    kind: str
    subject: str
    after_payment: str
    time_limit_minutes: int | None
    extension_minutes: int | None
    conversation_id: str | None = None
    appointment_id: str | None = None

    def metadata(self) -> dict[str, str]:
        """What the webhook reads back from the signed event (Stripe metadata is strings)."""
        meta = {
            "parlour_order": self.order_id,
            "tenant": self.tenant_id,
            "plan": self.plan_code,
            "customer": self.customer_id,
            "purpose": self.purpose.value,
        }
        if self.conversation_id:
            meta["conversation"] = self.conversation_id
        if self.appointment_id:
            meta["appointment"] = self.appointment_id
        return meta


def _require_customer(principal: Principal) -> str:
    if not principal.is_customer or principal.user_id is None:
        raise Forbidden("Only customers buy plans.", code="customers_only")
    return principal.user_id


async def prepare_checkout(
    tx: UnitOfWork,
    principal: Principal,
    *,
    plan_code: str | None,
    extend: str | None,
    customer_email: str | None = None,
) -> CheckoutDraft:
    """What the customer is about to buy: an active plan, or an extension of its own running
    timed paid conversation (`extend`)."""
    customer_id = _require_customer(principal)
    if extend:
        return await _extension_draft(tx, principal, extend, customer_email)
    if not plan_code:
        raise plans.plan_not_found()
    plan = await plans.get_active_plan(tx, principal.tenant_id, plan_code)
    return CheckoutDraft(
        order_id=new_id(),
        tenant_id=principal.tenant_id,
        customer_id=customer_id,
        customer_email=customer_email,
        plan_id=plan.id,
        plan_code=plan.code,
        purpose=OrderPurpose.session,
        name=plan.name,
        amount=plan.price_amount,
        currency=plan.currency,
        kind=plan.kind,
        subject=plan.name,
        after_payment=plan.after_payment,
        time_limit_minutes=plan.time_limit_minutes,
        extension_minutes=None,
    )


async def appointment_plan(tx: UnitOfWork, tenant_id: str) -> Plan | None:
    """paidbook: the active plan with a price that self-booked appointments are paid with
    (tenant setting `appointment_plan`); None when booking is free."""
    tenant = await get_tenant(tx.session, tenant_id)
    code = tenant.typed_settings.appointment_plan
    if code is None:
        return None
    plan = await plans.get_active_plan(tx, tenant_id, code)
    return plan if plan.price_amount > 0 else None


def appointment_draft(
    principal: Principal, plan: Plan, *, appointment_id: str, conversation_id: str
) -> CheckoutDraft:
    """paidbook: the checkout of a held booking; the order carries the booking's chat."""
    customer_id = _require_customer(principal)
    return CheckoutDraft(
        order_id=new_id(),
        tenant_id=principal.tenant_id,
        customer_id=customer_id,
        customer_email=None,
        plan_id=plan.id,
        plan_code=plan.code,
        purpose=OrderPurpose.appointment,
        name=plan.name,
        amount=plan.price_amount,
        currency=plan.currency,
        kind=appointments.KIND,
        subject=plan.name,
        after_payment=AfterPayment.chat.value,
        time_limit_minutes=None,
        extension_minutes=None,
        conversation_id=conversation_id,
        appointment_id=appointment_id,
    )


async def _extendable(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> tuple[Order, Plan]:
    """The paid order and plan of the caller's running conversation, if it sells extensions;
    Conflict (with a code saying why) otherwise; 404 for a conversation not the caller's."""
    view = await conversations.get_conversation(tx, principal, conversation_id)
    if view.customer_id != principal.user_id:
        raise NotFound("Conversation not found.", code="conversation_not_found")
    order = next(
        (
            o
            for o in await repository.orders_of_conversation(
                tx.session, principal.tenant_id, conversation_id
            )
            if o.purpose == OrderPurpose.session and o.status == OrderStatus.paid
        ),
        None,
    )
    if order is None or order.time_limit_minutes is None:
        raise Conflict("This conversation has no time limit to extend.", code="not_extendable")
    if view.status != Status.active:
        raise Conflict("Only a running session can be extended.", code="not_running")
    plan = await plans.get_plan_by_code(tx, principal.tenant_id, order.plan_code)
    if plan is None or not plan.extension_minutes or not plan.extension_price_amount:
        raise Conflict("This plan sells no extensions.", code="no_extension")
    return order, plan


async def _extension_draft(
    tx: UnitOfWork, principal: Principal, conversation_id: str, customer_email: str | None
) -> CheckoutDraft:
    order, plan = await _extendable(tx, principal, conversation_id)
    assert plan.extension_minutes and plan.extension_price_amount and principal.user_id
    return CheckoutDraft(
        order_id=new_id(),
        tenant_id=principal.tenant_id,
        customer_id=principal.user_id,
        customer_email=customer_email,
        plan_id=plan.id,
        plan_code=plan.code,
        purpose=OrderPurpose.extension,
        name=f"{plan.name}: {plan.extension_minutes} more minutes",
        amount=plan.extension_price_amount,
        currency=plan.currency,
        kind=order.kind,
        subject=order.subject,
        after_payment=order.after_payment,
        time_limit_minutes=None,
        extension_minutes=plan.extension_minutes,
        conversation_id=conversation_id,
    )


async def extension_offer(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> ExtensionOffer:
    """Whether the chat room offers its customer an extension, and at what price."""
    if not principal.is_customer:
        # Only its customer buys. Staff who may read the conversation hear so; others learn
        # nothing (404). `access_conversation`, not `get_conversation`: a look from the chat
        # room's button is no admin observation.
        await access_conversation(tx.session, principal, conversation_id)
        return ExtensionOffer(available=False, reason="customers_only")
    try:
        _, plan = await _extendable(tx, principal, conversation_id)
    except Conflict as exc:
        return ExtensionOffer(available=False, reason=exc.code)
    return ExtensionOffer(
        available=True,
        plan_code=plan.code,
        minutes=plan.extension_minutes,
        amount=plan.extension_price_amount,
        currency=plan.currency,
    )


async def do_record_pending(
    tx: UnitOfWork, draft: CheckoutDraft, *, session_id: str, provider: Provider
) -> Order:
    """The pending order for a checkout session just created."""
    order = Order(
        id=draft.order_id,
        tenant_id=draft.tenant_id,
        customer_id=draft.customer_id,
        customer_email=draft.customer_email,
        plan_id=draft.plan_id,
        plan_code=draft.plan_code,
        purpose=draft.purpose.value,
        provider=provider.value,
        status=OrderStatus.pending.value,
        amount=draft.amount,
        currency=draft.currency.upper(),
        kind=draft.kind,
        subject=draft.subject,
        after_payment=draft.after_payment,
        time_limit_minutes=draft.time_limit_minutes,
        extension_minutes=draft.extension_minutes,
        checkout_session_id=session_id,
        conversation_id=draft.conversation_id,
        created_at=tx.now,
    )
    tx.session.add(order)
    await tx.session.flush()
    return order


def new_test_session_id() -> str:
    return TEST_SESSION_PREFIX + new_id()


# --- completion: the webhook and the test provider's Pay button -------------------------------


@dataclass(frozen=True, slots=True)
class PaidCheckout:
    """What a `checkout.session.completed` event (or the test provider) says was paid."""

    session_id: str
    paid: bool
    amount_total: int | None
    currency: str | None
    payment_intent: str | None
    metadata: dict[str, str] = field(default_factory=dict)


async def do_record_event(tx: UnitOfWork, tenant_id: str, event_id: str, type: str) -> bool:
    """Remember a Stripe event in this transaction; False when it was handled before."""
    return await repository.record_event(
        tx.session, event_id=event_id, tenant_id=tenant_id, type=type, now=tx.now
    )


async def do_complete_checkout(tx: UnitOfWork, tenant_id: str, paid: PaidCheckout) -> Order | None:
    """Mark the checkout's order paid and deliver what it bought: for a plan, the conversation
    (kind from the plan, waiting, the customer in it) in this same transaction; for an
    extension, more time. Idempotent: an order already paid changes nothing. A paid checkout
    whose session had expired still wins (the money was taken). None when nothing matches."""
    if not paid.paid:
        return None  # e.g. a delayed payment method: `async_payment_succeeded` completes it
    order = await repository.lock_order_by_session(tx.session, tenant_id, paid.session_id)
    if order is None:
        order = await _order_from_metadata(tx, tenant_id, paid)
        if order is None:
            return None
    if order.status in (OrderStatus.paid, OrderStatus.refunded):
        return order
    if paid.amount_total != order.amount or (paid.currency or "").upper() != order.currency:
        log.error(
            "checkout %s paid %s %s but its order %s is for %s %s; not fulfilled",
            paid.session_id,
            paid.amount_total,
            paid.currency,
            order.id,
            order.amount,
            order.currency,
        )
        return None
    order.status = OrderStatus.paid.value
    order.paid_at = tx.now
    order.payment_intent_id = paid.payment_intent or order.payment_intent_id
    system = Principal.system_actor(tenant_id)
    if order.purpose == OrderPurpose.session:
        view = await conversations.do_create_conversation(
            tx, system, kind=order.kind, customer_id=order.customer_id, subject=order.subject
        )
        order.conversation_id = view.id
        tenant = await get_tenant(tx.session, tenant_id)
        wait = tenant.typed_settings.no_expert_refund_minutes
        order.no_expert_due_at = tx.now + timedelta(minutes=wait)
        if order.time_limit_minutes:
            seconds = order.time_limit_minutes * 60
            # In the creating transaction: the clock starts when the first expert joins.
            await timing.set_time_limit(tx, view.id, tenant_id, seconds)
    elif order.purpose == OrderPurpose.appointment:
        # paidbook: the held booking turns scheduled; one released meanwhile is refunded.
        confirmed = order.conversation_id is not None and await appointments.do_confirm_payment(
            tx, tenant_id, order.conversation_id
        )
        if not confirmed:
            await _request_refund(tx, order, reason="appointment_released")
    elif order.conversation_id is not None:
        view = await conversations.get_conversation(tx, system, order.conversation_id)
        if view.status == Status.ended:
            # Paid for minutes of a session that ended meanwhile: give the money back.
            await _request_refund(tx, order, reason="extension_unused")
        elif order.extension_minutes:
            seconds = order.extension_minutes * 60
            try:
                await timing.extend_time_limit(tx, order.conversation_id, tenant_id, seconds)
            except ConversationEnded:
                # It ended between the read above and the timer's lock: as above.
                await _request_refund(tx, order, reason="extension_unused")
    await tx.session.flush()
    return order


async def _order_from_metadata(tx: UnitOfWork, tenant_id: str, paid: PaidCheckout) -> Order | None:
    """A paid session whose pending order was never recorded (the process died between
    creating the session and storing it): rebuild the order from the signed metadata."""
    meta = paid.metadata
    if meta.get("tenant") != tenant_id or meta.get("purpose") not in set(OrderPurpose):
        log.warning("paid checkout %s has no order and no usable metadata", paid.session_id)
        return None
    plan = await plans.get_plan_by_code(tx, tenant_id, meta.get("plan", ""))
    try:
        customer = await get_user(
            tx.session, Principal.system_actor(tenant_id), meta.get("customer", "")
        )
    except NotFound:
        customer = None
    if plan is None or customer is None or customer.role != Role.customer:
        log.warning("paid checkout %s names no plan or customer here", paid.session_id)
        return None
    purpose = OrderPurpose(meta["purpose"])
    extension = purpose == OrderPurpose.extension
    draft = CheckoutDraft(
        order_id=meta.get("parlour_order") or new_id(),
        tenant_id=tenant_id,
        customer_id=customer.id,
        customer_email=None,
        plan_id=plan.id,
        plan_code=plan.code,
        purpose=purpose,
        name=plan.name,
        amount=paid.amount_total or 0,
        currency=paid.currency or plan.currency,
        kind=plan.kind,
        subject=plan.name,
        after_payment=plan.after_payment,
        time_limit_minutes=None if extension else plan.time_limit_minutes,
        extension_minutes=plan.extension_minutes if extension else None,
        conversation_id=meta.get("conversation") if purpose != OrderPurpose.session else None,
        appointment_id=meta.get("appointment"),
    )
    return await do_record_pending(tx, draft, session_id=paid.session_id, provider=Provider.stripe)


async def do_expire_checkout(tx: UnitOfWork, tenant_id: str, session_id: str) -> Order | None:
    """`checkout.session.expired`: a pending order becomes expired; a paid one stays paid."""
    order = await repository.lock_order_by_session(tx.session, tenant_id, session_id)
    if order is None or order.status != OrderStatus.pending:
        return order
    order.status = OrderStatus.expired.value
    order.expired_at = tx.now
    await tx.session.flush()
    return order


async def do_charge_refunded(
    tx: UnitOfWork, tenant_id: str, *, payment_intent: str, refund_id: str | None
) -> Order | None:
    """`charge.refunded` (in full): the order is refunded and the conversation it paid for
    ends (`refunded`) if it had not. A refund from the Stripe dashboard arrives this way too."""
    order = await repository.lock_order_by_payment_intent(tx.session, tenant_id, payment_intent)
    if order is None:
        return None
    await _mark_refunded(tx, order, refund_id)
    return order


async def _mark_refunded(tx: UnitOfWork, order: Order, refund_id: str | None) -> None:
    """Record the refund (once) and end the session it paid for (not an extension's)."""
    if order.status != OrderStatus.refunded:
        order.status = OrderStatus.refunded.value
        order.refunded_at = tx.now
        order.refund_id = order.refund_id or refund_id
        order.refund_reason = order.refund_reason or "refunded"
        order.no_expert_due_at = None
        await tx.session.flush()
    if order.purpose == OrderPurpose.session and order.conversation_id:
        await _end_if_open(tx, order.tenant_id, order.conversation_id, EndReason.refunded)


async def _end_if_open(tx: UnitOfWork, tenant_id: str, conversation_id: str, reason: str) -> None:
    # Ended already (by anyone): the refund is recorded either way.
    with contextlib.suppress(ConversationEnded):
        await conversations.do_end(
            tx, Principal.system_actor(tenant_id), conversation_id, reason=reason
        )


# --- refunds ----------------------------------------------------------------------------------


async def _request_refund(tx: UnitOfWork, order: Order, *, reason: str) -> None:
    """Queue the refund job for a paid order (once: its key is the order id)."""
    order.no_expert_due_at = None
    if order.refund_requested_at is None:
        order.refund_requested_at = tx.now
        order.refund_reason = reason
    await tx.session.flush()
    await tx.enqueue(REFUND_JOB, {"order_id": order.id}, key=order.id, tenant_id=order.tenant_id)


async def do_admin_refund(
    tx: UnitOfWork, principal: Principal, order_id: str, *, reason: str
) -> AdminOrderRead:
    """An admin refunds a paid order in full (a job calls Stripe); its session ends."""
    _require_admin(principal)
    order = await repository.lock_order(tx.session, principal.tenant_id, order_id)
    if order is None:
        raise order_not_found()
    if order.status != OrderStatus.paid:
        raise Conflict(f"A {order.status} order cannot be refunded.", code="not_refundable")
    if order.refund_requested_at is None:
        await _request_refund(tx, order, reason=reason)
        if order.purpose == OrderPurpose.session and order.conversation_id:
            await _end_if_open(tx, order.tenant_id, order.conversation_id, EndReason.refunded)
    return AdminOrderRead.model_validate(order)


@dataclass(frozen=True, slots=True)
class RefundTarget:
    order_id: str
    provider: Provider
    payment_intent: str | None
    reason: str


async def refund_target(tx: UnitOfWork, tenant_id: str, order_id: str) -> RefundTarget | None:
    """What the refund job refunds; None when there is nothing (left) to do."""
    order = await repository.order_by_id(tx.session, tenant_id, order_id)
    if order is None or order.status != OrderStatus.paid:
        return None
    return RefundTarget(
        order_id=order.id,
        provider=Provider(order.provider),
        payment_intent=order.payment_intent_id,
        reason=order.refund_reason or "requested_by_customer",
    )


async def do_record_refund(
    tx: UnitOfWork, tenant_id: str, order_id: str, refund_id: str | None
) -> None:
    """The refund job's outcome: the order is refunded (idempotent)."""
    order = await repository.lock_order(tx.session, tenant_id, order_id)
    if order is None:
        return
    await _mark_refunded(tx, order, refund_id)


# --- the no-expert promise --------------------------------------------------------------------


async def find_no_expert_due(tx: UnitOfWork, *, limit: int) -> list[tuple[str, str]]:
    return await repository.due_no_expert(tx.session, now=tx.now, limit=limit)


async def do_no_expert(tx: UnitOfWork, conversation_id: str, tenant_id: str) -> bool:
    """A paid session whose wait for an expert is over: if, under the locks, no staff member
    ever joined it as an agent, refund it (a job) and end it (`no_expert`). False when an
    expert joined (the promise is kept) or another node decided first."""
    order = await repository.lock_session_order_of(tx.session, tenant_id, conversation_id)
    if (
        order is None
        or order.status != OrderStatus.paid
        or order.no_expert_due_at is None
        or order.no_expert_due_at > tx.now
    ):
        return False
    system = Principal.system_actor(tenant_id)
    # The conversation's lock too: an expert joining right now either committed before (and is
    # seen here) or waits until this ends it.
    view = await conversations.locked_view(tx, system, conversation_id)
    if any(p.role == ParticipantRole.agent for p in view.participants):
        order.no_expert_due_at = None
        await tx.session.flush()
        return False
    await _request_refund(tx, order, reason=EndReason.no_expert.value)
    if view.status != Status.ended:
        await conversations.do_end(tx, system, conversation_id, reason=EndReason.no_expert)
    return True


# --- reading orders ---------------------------------------------------------------------------


def destination(order: Order) -> str | None:
    """Where the success page sends the customer once the order is paid."""
    if order.status not in (OrderStatus.paid, OrderStatus.refunded) or not order.conversation_id:
        return None
    if order.after_payment == AfterPayment.call:
        return f"/call/{order.conversation_id}"
    if order.after_payment == AfterPayment.thank_you and order.purpose == OrderPurpose.session:
        return f"/thank-you?conversation={order.conversation_id}"
    return f"/chat/{order.conversation_id}"


async def checkout_state(tx: UnitOfWork, principal: Principal, session_id: str) -> CheckoutState:
    """The order of a checkout, for the customer who placed it (anyone else: 404)."""
    order = await repository.order_by_session(tx.session, principal.tenant_id, session_id)
    if order is None or principal.user_id is None or order.customer_id != principal.user_id:
        raise order_not_found()
    return CheckoutState(order=OrderRead.model_validate(order), destination=destination(order))


async def order_for_test_payment(tx: UnitOfWork, principal: Principal, session_id: str) -> Order:
    """A pending test-provider order of the caller's (anyone else: 404)."""
    order = await repository.order_by_session(tx.session, principal.tenant_id, session_id)
    if (
        order is None
        or principal.user_id is None
        or order.customer_id != principal.user_id
        or order.provider != Provider.test
    ):
        raise order_not_found()
    return order


async def do_pay_test_order(
    tx: UnitOfWork, principal: Principal, session_id: str, *, keys: StripeKeys, settings: Settings
) -> Order | None:
    """The test provider's Pay button: the very completion the webhook runs, with the order's
    own amount. Refused (404) once the tenant has a Stripe key, or for another's order; 503
    `payments_not_configured` while the test provider is off."""
    if keys.secret_key:
        raise order_not_found()
    require_test_provider(settings)
    order = await order_for_test_payment(tx, principal, session_id)
    return await do_complete_checkout(
        tx,
        principal.tenant_id,
        PaidCheckout(
            session_id=session_id,
            paid=True,
            amount_total=order.amount,
            currency=order.currency,
            payment_intent=f"pi_parlour_test_{order.id}",
        ),
    )


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only the tenant's admins see orders.")


async def list_orders(
    tx: UnitOfWork, principal: Principal, *, status: OrderStatus | None, limit: int
) -> list[AdminOrderRead]:
    _require_admin(principal)
    limit = max(1, min(limit, MAX_ORDERS))
    rows = await repository.list_orders(
        tx.session, principal.tenant_id, status=status.value if status else None, limit=limit
    )
    return [AdminOrderRead.model_validate(o) for o in rows]


async def evidence(tx: UnitOfWork, principal: Principal, order_id: str) -> Evidence:
    """A paid conversation's dispute file (admins): the order and the others of the same
    conversation, payment and refund ids, the transcript, joins and leaves, minutes billed
    (from the first agent's join to the end, or to now while it runs)."""
    _require_admin(principal)
    order = await repository.order_by_id(tx.session, principal.tenant_id, order_id)
    if order is None:
        raise order_not_found()
    related: list[Order] = []
    conversation = None
    participants: list[ParticipantRecord] = []
    transcript = []
    first_join = ended_at = None
    if order.conversation_id:
        # Read as the system actor: an admin's evidence export is not an observation.
        system = Principal.system_actor(principal.tenant_id)
        view = await conversations.get_conversation(tx, system, order.conversation_id)
        conversation = view.model_dump(mode="json", exclude={"last_message", "unread_count"})
        participants = [ParticipantRecord.model_validate(p) for p in view.participants]
        agent_joins = [p.joined_at for p in view.participants if p.role == ParticipantRole.agent]
        first_join = min(agent_joins) if agent_joins else None
        ended_at = view.ended_at
        after = 0
        while True:
            page = await messages.list_messages(
                tx, system, conversation_id=view.id, after_seq=after, limit=messages.MAX_PAGE
            )
            transcript.extend(page.messages)
            if not page.has_more or not page.messages:
                break
            after = page.messages[-1].seq
        related = [
            o
            for o in await repository.orders_of_conversation(
                tx.session, principal.tenant_id, view.id
            )
            if o.id != order.id
        ]
    seconds = 0
    if first_join is not None:
        seconds = max(0, int(((ended_at or tx.now) - first_join).total_seconds()))
    return Evidence(
        order=AdminOrderRead.model_validate(order),
        related_orders=[AdminOrderRead.model_validate(o) for o in related],
        conversation=conversation,
        participants=participants,
        transcript=transcript,
        first_staff_join_at=first_join,
        ended_at=ended_at,
        seconds_billed=seconds,
        minutes_billed=math.ceil(seconds / 60),
        generated_at=tx.now,
    )
