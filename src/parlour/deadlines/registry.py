"""The registry of deadlines: what "due" means for each domain, and what to do then.

A domain registers a deadline once (`registry.register_deadline(name, find_due, act)`) instead
of writing its own loop; the one sweep (`deadlines.sweep`) runs them all, in-process, from
`parlour close-expired` and from the cron endpoint.

- `find_due(tx, limit)` reads (in a read-only unit of work) at most `limit` items that look due.
  It may return items another node is acting on right now: `act` decides.
- `act(tx, due)` runs in its own short writing unit of work per item. It must lock what it
  changes and re-check that the item is still due under the lock, then act and return the
  outcome (e.g. the end reason), or return None when there is nothing to do any more. That is
  what makes sweeps on several nodes, and concurrent cron calls, act on each item once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from parlour.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Due:
    """One item that looks due. Today's deadlines all end a conversation (expiry; later
    session time limits, appointment grace, inactivity)."""

    conversation_id: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class Acted:
    """What a sweep did to one item."""

    deadline: str
    conversation_id: str
    tenant_id: str
    outcome: str  # for a conversation: the end reason


FindDue = Callable[[UnitOfWork, int], Awaitable[list[Due]]]
Act = Callable[[UnitOfWork, Due], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Deadline:
    name: str
    find_due: FindDue
    act: Act


class DeadlineRegistry:
    """The node's deadlines, in registration order."""

    def __init__(self) -> None:
        self._deadlines: dict[str, Deadline] = {}

    def register_deadline(self, name: str, find_due: FindDue, act: Act) -> Deadline:
        if name in self._deadlines:
            raise ValueError(f"deadline {name!r} is already registered")
        deadline = self._deadlines[name] = Deadline(name, find_due, act)
        return deadline

    def __iter__(self) -> Iterator[Deadline]:
        return iter(list(self._deadlines.values()))

    def __len__(self) -> int:
        return len(self._deadlines)
