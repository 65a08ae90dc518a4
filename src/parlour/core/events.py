"""The event envelope that leaves a unit of work after commit, and who publishes it.

An event names its audience (a broker channel such as `conversation:<id>`) and carries its wire
frame already encoded, so a fan-out to thousands of subscribers encodes it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    type: str
    # The frame sent to clients, JSON-encoded once.
    payload: str
    conversation_id: str | None = None
    # Set on `message` events: subscribers use it to drop duplicates and fill gaps.
    seq: int | None = None


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def staff_channel(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:staff"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"
