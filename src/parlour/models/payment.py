"""Paid conversations: a tenant's plans, the orders customers pay through Stripe Checkout (or
the built-in test provider), and the Stripe events already handled (docs/payments.md)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parlour.core.db import Base, UTCDateTime


class AfterPayment(enum.StrEnum):
    """Where the customer goes once the payment landed."""

    chat = "chat"
    call = "call"
    thank_you = "thank_you"


class OrderStatus(enum.StrEnum):
    pending = "pending"  # a checkout session exists; nothing paid yet
    paid = "paid"
    expired = "expired"  # the checkout session expired unpaid
    refunded = "refunded"


class OrderPurpose(enum.StrEnum):
    session = "session"  # buys a plan: a new conversation
    extension = "extension"  # buys more minutes of a running conversation
    appointment = "appointment"  # paidbook: pays a held booking (its chat: conversation_id)


class Provider(enum.StrEnum):
    stripe = "stripe"
    test = "test"  # the built-in offline provider (a tenant without a Stripe key)


class Plan(Base):
    """What a customer can buy: a conversation of a kind, at a price, with a time limit."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    # Integer minor units (cents) and an ISO 4217 code, upper case.
    price_amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    after_payment: Mapped[str] = mapped_column(String(16))
    # What one extension of a running session adds and costs; None: the plan sells none.
    extension_minutes: Mapped[int | None] = mapped_column(Integer)
    extension_price_amount: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Order(Base):
    """One checkout: pending at creation, then paid (or expired), perhaps refunded. What was
    sold is copied from the plan at checkout, so a later plan edit changes no order."""

    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        # The no-expert sweep: paid sessions whose wait for an expert ends.
        Index(None, "no_expert_due_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # The email a visitor gave at checkout (receipts); None for a signed-in customer.
    customer_email: Mapped[str | None] = mapped_column(String(254))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    plan_code: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    after_payment: Mapped[str] = mapped_column(String(16))
    # The plan's limit, for the integrator's timing call; minutes an extension adds.
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    extension_minutes: Mapped[int | None] = mapped_column(Integer)
    checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # The conversation the payment opened (session) or extends (extension).
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    refund_id: Mapped[str | None] = mapped_column(String(255))
    refund_reason: Mapped[str | None] = mapped_column(String(32))
    refund_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a paid session no expert joined is refunded (None once decided either way).
    no_expert_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StripeEvent(Base):
    """A Stripe event handled once per tenant: (tenant, event id) is the primary key, so a
    retried or concurrently delivered event finds its row and changes nothing, while tenants
    sharing one Stripe account (the same event sent to each endpoint) each handle it."""

    __tablename__ = "stripe_events"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
