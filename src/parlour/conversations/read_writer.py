"""The read-pointer writer: `read` frames and `POST .../read` share transactions.

A `Batcher` (see `parlour.core.batcher`: bounded queue, deadline, drain, supervision) whose
batch is `do_mark_read_many`. The WebSocket submits without waiting (only a refusal is
answered, as an `error` frame); REST waits for the committed pointer.
"""

from __future__ import annotations

from collections.abc import Callable

from parlour.conversations.reads import ReadRequest, do_mark_read_many
from parlour.conversations.schemas import ReadState
from parlour.core import rls
from parlour.core.batcher import Batcher
from parlour.core.errors import AppError
from parlour.core.uow import UnitOfWork


class ReadWriter(Batcher[ReadRequest, ReadState]):
    name = "read-writer"

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        *,
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

    async def _commit(self, requests: list[ReadRequest]) -> list[ReadState | AppError]:
        # rls: several readers share the transaction (see the message writer).
        with rls.acting_as(rls.batch_scope({r.principal.tenant_id for r in requests})):
            async with self._uow() as tx:
                return await do_mark_read_many(tx, requests)
