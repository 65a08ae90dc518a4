"""Domain events: in-process reactions to committed changes, without parsing wire frames.

A service says what happened with `tx.emit_domain(DomainEvent("conversation.ended", tenant_id,
{...}))`. The unit of work keeps the events until it commits; then the node's `DomainHooks` runs
every handler registered for each event's name, in emit order. A rollback runs none. A handler
that raises is logged and skipped: the change is committed and stays committed, and the other
handlers still run. Handlers run after the commit, outside any transaction: one that writes opens
its own unit of work (and work that leaves the process belongs in a job).

Events named by the conversation service: `conversation.created`,
`conversation.participant_joined`, `conversation.ended` (see docs/architecture/lifecycle.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str
    tenant_id: str
    data: dict[str, Any] = field(default_factory=dict)


DomainHandler = Callable[[DomainEvent], Awaitable[None]]


class DomainHooks:
    """The node's registry of handlers, by event name."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[DomainHandler]] = defaultdict(list)

    def on(self, name: str, handler: DomainHandler) -> DomainHandler:
        """Run `handler` after every committed event called `name`; returns the handler."""
        self._handlers[name].append(handler)
        return handler

    def off(self, name: str, handler: DomainHandler) -> None:
        if handler in self._handlers.get(name, []):
            self._handlers[name].remove(handler)

    async def run(self, events: Iterable[DomainEvent]) -> None:
        """Every handler for every event; a failure is logged and never stops the rest."""
        for event in events:
            for handler in list(self._handlers.get(event.name, ())):
                try:
                    await handler(event)
                except Exception:
                    log.exception("domain hook %r failed on %s", handler, event.name)
