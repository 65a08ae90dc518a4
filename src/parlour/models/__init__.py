"""Every table, one module per aggregate. Importing this package registers them all."""

# attachments: files in conversations, canned responses
# appointments: appointments and experts' availability
from parlour.models.appointment import Appointment, Availability
from parlour.models.attachment import Attachment
from parlour.models.canned import CannedResponse
from parlour.models.conversation import Conversation, Participant
from parlour.models.import_key import ImportKey  # import: parlour import bookkeeping
from parlour.models.job import Job
from parlour.models.message import Message

# payments: plans, orders, handled Stripe events
from parlour.models.payment import Order, Plan, StripeEvent
from parlour.models.revoked_token import RevokedToken
from parlour.models.routing import AgentRouting  # routing
from parlour.models.tenant import Tenant
from parlour.models.tenant_secret import TenantSecret

# desk: support tickets
from parlour.models.ticket import Ticket, TicketCounter
from parlour.models.timing import ConversationTimer, Rating, RatingAgent  # timing
from parlour.models.user import ApiKey, User

__all__ = [
    "AgentRouting",  # routing
    "ApiKey",
    "Appointment",
    "Attachment",
    "Availability",
    "CannedResponse",
    "Conversation",
    "ConversationTimer",  # timing
    "ImportKey",  # import
    "Job",
    "Message",
    "Order",
    "Participant",
    "Plan",
    "Rating",  # timing
    "RatingAgent",  # timing
    "RevokedToken",
    "StripeEvent",
    "Tenant",
    "TenantSecret",
    "Ticket",  # desk
    "TicketCounter",  # desk
    "User",
]
