"""Every table, one module per aggregate. Importing this package registers them all."""

from parlour.models.conversation import Conversation, Participant
from parlour.models.job import Job
from parlour.models.message import Message
from parlour.models.revoked_token import RevokedToken
from parlour.models.tenant import Tenant
from parlour.models.tenant_secret import TenantSecret

# desk: support tickets
from parlour.models.ticket import Ticket, TicketCounter
from parlour.models.user import ApiKey, User

__all__ = [
    "ApiKey",
    "Conversation",
    "Job",
    "Message",
    "Participant",
    "RevokedToken",
    "Tenant",
    "TenantSecret",
    "Ticket",  # desk
    "TicketCounter",  # desk
    "User",
]
