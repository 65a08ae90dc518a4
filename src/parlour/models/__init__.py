"""Every table, one module per aggregate. Importing this package registers them all."""

from parlour.models.conversation import Conversation, Participant
from parlour.models.job import Job
from parlour.models.message import Message

# payments: plans, orders, handled Stripe events
from parlour.models.payment import Order, Plan, StripeEvent
from parlour.models.revoked_token import RevokedToken
from parlour.models.tenant import Tenant
from parlour.models.tenant_secret import TenantSecret
from parlour.models.user import ApiKey, User

__all__ = [
    "ApiKey",
    "Conversation",
    "Job",
    "Message",
    "Order",
    "Participant",
    "Plan",
    "RevokedToken",
    "StripeEvent",
    "Tenant",
    "TenantSecret",
    "User",
]
