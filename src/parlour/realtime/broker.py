"""The broker carries events from the node that committed them to every subscribed connection.

`InProcessBroker` serves one node; a Redis broker implements the same protocol for many nodes.
Listeners are plain callables that must not block: a connection's listener only enqueues.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from parlour.core.events import Event

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class Subscription(Protocol):
    async def close(self) -> None: ...


class Broker(Protocol):
    async def publish(self, event: Event) -> None:
        """Deliver `event` to every listener of its channel (on every node)."""

    async def subscribe(self, channel: str, listener: Listener) -> Subscription:
        """Start delivering the channel's events; returns once delivery is guaranteed."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _LocalSubscription:
    def __init__(self, broker: InProcessBroker, channel: str, listener: Listener) -> None:
        self._broker = broker
        self._channel = channel
        self._listener = listener

    async def close(self) -> None:
        self._broker.remove(self._channel, self._listener)


class InProcessBroker:
    """Fan-out within this process."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listeners.clear()

    async def publish(self, event: Event) -> None:
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        for listener in list(self._listeners.get(event.channel, ())):
            try:
                listener(event)
            except Exception:  # one broken listener must not starve the others
                log.exception("listener failed on %s", event.channel)

    async def subscribe(self, channel: str, listener: Listener) -> Subscription:
        self._listeners[channel].add(listener)
        return _LocalSubscription(self, channel, listener)

    def remove(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[channel]

    def channel_count(self) -> int:
        return len(self._listeners)

    def channels(self) -> list[str]:
        """redis: the channels that have listeners on this node."""
        return list(self._listeners)

    def has(self, channel: str) -> bool:
        return channel in self._listeners
