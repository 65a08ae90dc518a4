"""Who may take part in a conversation's call, whom a signal goes to, and the ICE servers.

A call has exactly two parties: the conversation's customer and its current agent participant
(role agent, not left; the latest to join if there are several). Only they may signal or read
the call's ICE servers, only in a conversation whose kind the tenant allows calls for (setting
`call_kinds`, default `["video"]`), and only while it has not ended (then `conversation_ended`).
Anyone else (an observer, an admin reading from outside, a bot, a former agent, another
customer, another tenant, an API key) is told the conversation does not exist, exactly as for
one that does not: signaling never reveals that a conversation or a call exists.

The server relays signals and keeps nothing: no SDP, no candidate is stored or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant
from parlour.conversations.access import access_conversation
from parlour.conversations.schemas import ParticipantRead
from parlour.conversations.service import conversation_views
from parlour.core.errors import ConversationEnded, conversation_not_found
from parlour.core.events import Audience, Event
from parlour.core.ice import IceServer, parse_ice_servers
from parlour.core.uow import UnitOfWork
from parlour.models.conversation import ParticipantRole, Status
from parlour.realtime.envelopes import encode
from parlour.tenants.schemas import SecretName
from parlour.tenants.service import SecretUnreadable, get_secret

log = logging.getLogger(__name__)

SIGNAL_EVENT = "signal"
CALL_ROLES = frozenset({ParticipantRole.customer, ParticipantRole.agent})


@dataclass(frozen=True, slots=True)
class CallParties:
    conversation_id: str
    tenant_id: str
    me: ParticipantRead
    # The other party; None while no agent takes part (the customer waits).
    peer: ParticipantRead | None

    @property
    def polite(self) -> bool:
        """Perfect negotiation: the customer yields when both offer at once."""
        return self.me.role == ParticipantRole.customer


def _current(participants: list[ParticipantRead], role: ParticipantRole) -> ParticipantRead | None:
    present = [p for p in participants if p.role == role and p.left_at is None]
    return max(present, key=lambda p: p.joined_at, default=None)


async def call_parties(tx: UnitOfWork, principal: Principal, conversation_id: str) -> CallParties:
    """The caller's place in the conversation's call and the other party; `NotFound` (the
    same as a missing conversation) for anyone who is not one of the two, `ConversationEnded`
    for one of them once it has ended."""
    access = await access_conversation(tx.session, principal, conversation_id)
    part = access.participant
    if part is None or part.left_at is not None or part.role not in CALL_ROLES:
        raise conversation_not_found()
    conversation = access.conversation
    tenant = await get_tenant(tx.session, conversation.tenant_id)
    if conversation.kind not in tenant.typed_settings.call_kinds:
        raise conversation_not_found()
    [view] = await conversation_views(tx, [conversation], viewer_id=principal.user_id)
    customer = _current(view.participants, ParticipantRole.customer)
    agent = _current(view.participants, ParticipantRole.agent)
    me = customer if part.role == ParticipantRole.customer else agent
    if me is None or me.user_id != principal.user_id:
        # An agent who is not the current one (another joined after): not a party.
        raise conversation_not_found()
    if conversation.status == Status.ended:
        raise ConversationEnded()
    peer = agent if me is customer else customer
    return CallParties(
        conversation_id=conversation.id, tenant_id=conversation.tenant_id, me=me, peer=peer
    )


def signal_event(parties: CallParties, signal: dict[str, Any]) -> Event | None:
    """The `signal` frame for the other party's connections only (their user feed), or None
    when there is nobody to relay to yet. `signal` is the client's frame, already validated."""
    if parties.peer is None:
        return None
    payload = encode(
        {
            "type": SIGNAL_EVENT,
            "conversation_id": parties.conversation_id,
            "from_user_id": parties.me.user_id,
            **signal,
        }
    )
    return Event(
        audience=Audience.user(parties.peer.user_id),
        type=SIGNAL_EVENT,
        payload=payload,
        conversation_id=parties.conversation_id,
    )


@dataclass(frozen=True, slots=True)
class IceConfig:
    """The server's ICE configuration (PARLOUR_ICE_SERVERS, PARLOUR_TURN_*)."""

    servers: list[IceServer]
    turn_secret: str = ""
    turn_urls: list[str] = field(default_factory=list)
    turn_ttl_seconds: int = 6 * 3600


def turn_credentials(config: IceConfig, user_id: str, now: datetime) -> IceServer | None:
    """A TURN server entry with credentials that expire (the TURN REST scheme coturn checks
    with `use-auth-secret`): username `<expiry unix time>:<user id>`, credential
    base64(HMAC-SHA1(secret, username)). None unless a secret and URLs are configured."""
    if not config.turn_secret or not config.turn_urls:
        return None
    username = f"{int(now.timestamp()) + config.turn_ttl_seconds}:{user_id}"
    digest = hmac.new(config.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
    return IceServer(
        urls=config.turn_urls, username=username, credential=base64.b64encode(digest).decode()
    )


async def ice_servers(
    tx: UnitOfWork, parties: CallParties, config: IceConfig, *, server_secret: str
) -> list[IceServer]:
    """The STUN/TURN servers for this call: the tenant's own (secret `ice_servers`) or the
    server's (`PARLOUR_ICE_SERVERS`), plus a TURN entry with fresh time-limited credentials
    when `PARLOUR_TURN_SECRET` is set and the other party is there (a customer still waiting
    gets none). Only ever called with a call's parties in hand, so TURN credentials reach no
    one else. An unreadable tenant value falls back to the server's."""
    listed = await _listed_servers(tx, parties, config.servers, server_secret=server_secret)
    if parties.peer is None:
        # Nobody to call yet: no relay credentials for a customer who merely waits (a paid or
        # guest session is cheap to open; TURN bandwidth is not).
        return listed
    turn = turn_credentials(config, parties.me.user_id, tx.now)
    return [*listed, turn] if turn else listed


async def _listed_servers(
    tx: UnitOfWork, parties: CallParties, default: list[IceServer], *, server_secret: str
) -> list[IceServer]:
    try:
        stored = await get_secret(
            tx.session, parties.tenant_id, SecretName.ice_servers, server_secret=server_secret
        )
    except SecretUnreadable:
        log.warning("the tenant's ice_servers secret cannot be decrypted; using the default")
        return default
    if stored is None:
        return default
    try:
        return parse_ice_servers(stored)
    except ValueError:
        log.warning("the tenant's ice_servers secret is not a valid list; using the default")
        return default
