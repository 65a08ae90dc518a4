"""Private read receipts (tenant setting `private_read_receipts`).

When it is on, a staff participant's (agent, observer, bot) read pointer is stored and moves as
usual (their unread counts need it), but the customer is not told: the `read` event goes only
to the reader's own connections, and views that reach the customer show the pointer only up
to the reader's own last message. Replying shows it: a message implies its sender has read up
to it (the pages already draw "Seen" from that), and nothing more is revealed until then.
"""

from __future__ import annotations

from collections.abc import Iterable

from parlour.auth.service import get_tenant
from parlour.core.uow import UnitOfWork
from parlour.models.conversation import Participant, ParticipantRole


async def private_in(tx: UnitOfWork, tenant_id: str) -> bool:
    """Whether the tenant keeps its staff's reading private."""
    tenant = await get_tenant(tx.session, tenant_id)
    return bool(tenant.typed_settings.private_read_receipts)


def is_private_reader(participant: Participant, *, private: bool) -> bool:
    return private and participant.role != ParticipantRole.customer


def hidden_from(viewer_id: str | None, parts: Iterable[Participant], customer_id: str) -> bool:
    """Whether a view for `viewer_id` must hide staff reading: for the customer, and for a
    view sent to everyone at once (`None`: the live `conversation` events)."""
    if viewer_id is None or viewer_id == customer_id:
        return True
    mine = next((p for p in parts if p.user_id == viewer_id), None)
    return mine is not None and mine.role == ParticipantRole.customer
