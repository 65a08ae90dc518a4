"""The event envelope that leaves a unit of work after commit, and who may receive it.

Every event is addressed where it is produced: its `Audience` says who may receive it (one
conversation's readers, one user, a tenant's admins, a tenant's staff for queue changes only,
or the gateway itself for credential changes). The audience is a required field, so a producer
cannot forget it, and the gateway subscribes each connection only to the audiences its
principal belongs to: delivery follows the address, never the payload.

An event carries its wire frame already encoded, so a fan-out to thousands of subscribers
encodes it once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class AudienceKind(enum.StrEnum):
    # Everyone subscribed to the conversation (the gateway checked they may read it).
    conversation = "conversation"
    # One user's connections (their participants' lists, their credentials).
    user = "user"
    # A tenant's admins, who read every conversation of their tenant.
    tenant_admins = "tenant_admins"
    # A tenant's staff: only a conversation entering or leaving the waiting queue, redacted.
    staff_queue = "staff_queue"
    # Every API-key connection of a tenant (a revoked key must re-check itself).
    tenant_keys = "tenant_keys"


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    id: str

    @classmethod
    def conversation(cls, conversation_id: str) -> Audience:
        return cls(AudienceKind.conversation, conversation_id)

    @classmethod
    def user(cls, user_id: str) -> Audience:
        return cls(AudienceKind.user, user_id)

    @classmethod
    def tenant_admins(cls, tenant_id: str) -> Audience:
        return cls(AudienceKind.tenant_admins, tenant_id)

    @classmethod
    def staff_queue(cls, tenant_id: str) -> Audience:
        return cls(AudienceKind.staff_queue, tenant_id)

    @classmethod
    def tenant_keys(cls, tenant_id: str) -> Audience:
        return cls(AudienceKind.tenant_keys, tenant_id)

    @property
    def channel(self) -> str:
        """The broker channel that carries this audience's events."""
        if self.kind is AudienceKind.conversation:
            return conversation_channel(self.id)
        if self.kind is AudienceKind.user:
            return user_channel(self.id)
        if self.kind is AudienceKind.tenant_admins:
            return f"tenant:{self.id}:admins"
        if self.kind is AudienceKind.staff_queue:
            return staff_channel(self.id)
        return f"tenant:{self.id}:keys"


# The only event type the staff queue carries; anything else addressed there is refused.
QUEUE_EVENT = "queue"
# Internal: "re-check your credential". Never sent to a client.
CREDENTIALS_EVENT = "credentials"
# redis: internal, from a broker that may have lost events on a conversation's channel (its
# link to Redis was down, or another node could not publish): subscribers re-read the
# conversation's messages after the last seq they delivered. Never sent to a client.
MISSED_EVENT = "missed"


@dataclass(frozen=True, slots=True)
class Event:
    audience: Audience
    type: str
    # The frame sent to clients, JSON-encoded once ("" for internal events).
    payload: str
    conversation_id: str | None = None
    # Set on `message` events: subscribers use it to drop duplicates and fill gaps.
    seq: int | None = None
    # For the gateway itself (credential re-checks), never forwarded to a client.
    internal: bool = False

    def __post_init__(self) -> None:
        if self.audience.kind is AudienceKind.staff_queue and self.type != QUEUE_EVENT:
            # The staff feed reaches people who may not read the conversation.
            raise ValueError(f"the staff queue carries only queue events, not {self.type!r}")
        if self.audience.kind is AudienceKind.tenant_keys and not self.internal:
            raise ValueError("the API-key audience carries only internal events")

    @property
    def channel(self) -> str:
        return self.audience.channel


def credentials_changed(audience: Audience) -> Event:
    """Internal: a credential of this audience (a user's tokens, a tenant's API keys) may no
    longer be valid; every connection holding one re-checks it and closes with 4001 if so."""
    return Event(audience=audience, type=CREDENTIALS_EVENT, payload="", internal=True)


def events_missed(audience: Audience) -> Event | None:
    """redis: internal, "you may have missed events on this audience's channel". On a
    conversation the subscribers catch up from the database by seq; on a user's or a tenant's
    key feed (whose only recoverable events are credential changes) every connection re-checks
    its credential. None for the admin and staff feeds: what they carry is a notice (a
    conversation changed, the queue moved) that the next one or a reload replaces."""
    if audience.kind is AudienceKind.conversation:
        return Event(
            audience=audience,
            type=MISSED_EVENT,
            payload="",
            conversation_id=audience.id,
            internal=True,
        )
    if audience.kind in (AudienceKind.user, AudienceKind.tenant_keys):
        return credentials_changed(audience)
    return None


def audience_of(channel: str) -> Audience | None:
    """redis: the audience whose channel this is (the inverse of `Audience.channel`)."""
    kind, _, rest = channel.partition(":")
    if kind == "conversation" and rest:
        return Audience.conversation(rest)
    if kind == "user" and rest:
        return Audience.user(rest)
    tenant, _, feed = rest.rpartition(":")
    if kind == "tenant" and tenant:
        feeds = {
            "admins": AudienceKind.tenant_admins,
            "staff": AudienceKind.staff_queue,
            "keys": AudienceKind.tenant_keys,
        }
        if feed in feeds:
            return Audience(feeds[feed], tenant)
    return None


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def staff_channel(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:staff"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"
