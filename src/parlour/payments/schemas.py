"""What the payments API takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import BeforeValidator, Field, StringConstraints

from parlour.core.schemas import InputModel, OutputModel
from parlour.messages.schemas import MessageRead
from parlour.models.payment import AfterPayment

PlanCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,31}$")]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
PlanName = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _integral(value: object) -> object:
    # JSON Schema counts 3.0 as an integer (and JavaScript clients may send one); 3.5 stays wrong.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_INTEGRAL = BeforeValidator(_integral)
# Stripe's smallest charge is about 0.50 USD; the largest it takes is 99,999,999 minor units.
Amount = Annotated[int, Ge(50), Le(99_999_999), _INTEGRAL]
Minutes = Annotated[int, Ge(1), Le(24 * 60), _INTEGRAL]
SortOrder = Annotated[int, Ge(0), Le(10_000), _INTEGRAL]
# Strict input models take the values, not the enum (AfterPayment names the same three).
Destination = Literal["chat", "call", "thank_you"]


class PlanRead(OutputModel):
    id: str
    code: str
    name: str
    description: str | None
    kind: str
    price_amount: int
    currency: str
    time_limit_minutes: int | None
    after_payment: AfterPayment
    extension_minutes: int | None
    extension_price_amount: int | None
    active: bool
    sort_order: int


class PlanCreate(InputModel):
    code: PlanCode
    name: PlanName
    description: str | None = Field(default=None, max_length=300)
    kind: Kind
    price_amount: Amount
    currency: Currency = "USD"
    time_limit_minutes: Minutes | None = None
    after_payment: Destination = "chat"
    extension_minutes: Minutes | None = None
    extension_price_amount: Amount | None = None
    active: bool = True
    sort_order: SortOrder = 0


class PlanUpdate(InputModel):
    """Only the fields given change (the code never does: orders name it)."""

    name: PlanName | None = None
    description: str | None = Field(default=None, max_length=300)
    kind: Kind | None = None
    price_amount: Amount | None = None
    currency: Currency | None = None
    time_limit_minutes: Minutes | None = None
    after_payment: Destination | None = None
    extension_minutes: Minutes | None = None
    extension_price_amount: Amount | None = None
    active: bool | None = None
    sort_order: SortOrder | None = None


class OrderRead(OutputModel):
    id: str
    plan_code: str
    purpose: str
    provider: str
    status: str
    amount: int
    currency: str
    kind: str
    after_payment: str
    time_limit_minutes: int | None
    extension_minutes: int | None
    checkout_session_id: str
    conversation_id: str | None
    created_at: datetime
    paid_at: datetime | None
    refunded_at: datetime | None


class AdminOrderRead(OrderRead):
    customer_id: str
    customer_email: str | None
    payment_intent_id: str | None
    refund_id: str | None
    refund_reason: str | None
    expired_at: datetime | None


class CheckoutState(OutputModel):
    """What the success page polls: the order, and where to send the customer once paid
    (None while the payment has not landed)."""

    order: OrderRead
    destination: str | None


class ExtensionOffer(OutputModel):
    available: bool
    plan_code: str | None = None
    minutes: int | None = None
    amount: int | None = None
    currency: str | None = None
    reason: str | None = None


class ParticipantRecord(OutputModel):
    user_id: str
    display_name: str
    role: str
    joined_at: datetime
    left_at: datetime | None


class Evidence(OutputModel):
    """A paid conversation's dispute file: what was sold and paid, what happened."""

    order: AdminOrderRead
    related_orders: list[AdminOrderRead]
    conversation: dict[str, Any] | None
    participants: list[ParticipantRecord]
    transcript: list[MessageRead]
    first_staff_join_at: datetime | None
    ended_at: datetime | None
    seconds_billed: int
    minutes_billed: int
    generated_at: datetime


class RefundRequest(InputModel):
    reason: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = "requested_by_admin"
