"""Group commit: concurrent sends share one transaction and one commit.

Every send (REST or WebSocket) is queued here. One writer task per process takes whatever is
waiting (up to `batch_max`), runs the send rule for all of it in one unit of work, commits once,
publishes the events and then answers each sender. Under load a commit carries many messages;
alone, a message waits for nobody. The queue is bounded, a send has a deadline, shutdown drains,
and the task is supervised: see `parlour.core.batcher` for what each sender hears when something
goes wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from parlour.core import rls
from parlour.core.batcher import Batcher
from parlour.core.errors import AppError
from parlour.core.uow import UnitOfWork
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest, do_send_messages

UowFactory = Callable[[], UnitOfWork]


class MessageWriter(Batcher[SendRequest, MessageRead]):
    name = "message-writer"

    def __init__(
        self,
        uow: UowFactory,
        *,
        max_chars: int,
        batch_max: int = 256,
        queue_max: int = 10_000,
        send_timeout: float = 10.0,
        drain_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            batch_max=batch_max,
            queue_max=queue_max,
            send_timeout=send_timeout,
            drain_timeout=drain_timeout,
        )
        self._uow = uow
        self._max_chars = max_chars

    @property
    def messages(self) -> int:
        """Messages (and refusals) answered by committed batches."""
        return self.items

    async def send(self, request: SendRequest) -> MessageRead:
        """Queue a send and wait until it is committed (or refused)."""
        return await self.submit(request)

    async def _commit(self, requests: list[SendRequest]) -> list[MessageRead | AppError]:
        # The unit of work commits and publishes before the senders are answered.
        # rls: several senders share it, so it runs as the service (rls.batch_scope says why).
        scope = rls.batch_scope({r.principal.tenant_id for r in requests})
        with rls.acting_as(scope):
            return await self._commit_in_scope(requests)

    async def _commit_in_scope(self, requests: list[SendRequest]) -> list[MessageRead | AppError]:
        async with self._uow() as tx:
            return await do_send_messages(tx, requests, max_chars=self._max_chars)
