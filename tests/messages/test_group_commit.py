"""Group commit under a random storm of concurrent sends, retries and refusals."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select

from parlour.core.errors import AppError
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest
from parlour.models.message import Message
from parlour.runtime import Runtime
from tests.factories import make_conversation, make_user


async def test_random_concurrent_sends_keep_every_invariant(runtime: Runtime) -> None:
    rng = random.Random(20261124)
    agent = await make_user(runtime, "agent")
    customers = [await make_user(runtime) for _ in range(3)]
    conversations = [await make_conversation(runtime, c, agent=agent) for c in customers]
    stranger = await make_user(runtime)

    requests: list[SendRequest] = []
    for n in range(240):
        i = rng.randrange(3)
        sender = rng.choice([customers[i], agent])
        if rng.random() < 0.05:
            sender = stranger  # refused: not a participant
        body = "x" * 5000 if rng.random() < 0.03 else f"message {n}"  # some too long
        client_id = f"id-{rng.randrange(150)}"  # many repeats: retries
        requests.append(SendRequest(sender, conversations[i].id, body, client_id))

    results: list[MessageRead | AppError] = []
    for start in range(0, len(requests), 40):  # waves of concurrent sends
        chunk = requests[start : start + 40]
        results += await asyncio.gather(
            *(runtime.writer.send(r) for r in chunk), return_exceptions=True
        )
    assert runtime.writer.batches < len(requests) / 4, "concurrent sends should share commits"

    async with runtime.uow(write=False) as tx:
        rows = list(await tx.session.scalars(select(Message).order_by(Message.seq)))
    by_key: dict[tuple[str, str | None, str | None], MessageRead] = {}
    for request, result in zip(requests, results, strict=True):
        key = (request.conversation_id, request.principal.user_id, request.client_msg_id)
        if len(request.body) > runtime.settings.max_message_chars:  # checked first, leaks nothing
            assert isinstance(result, AppError) and result.code == "message_too_long"
        elif request.principal is stranger:
            assert isinstance(result, AppError) and result.code == "conversation_not_found"
        else:
            assert isinstance(result, MessageRead), result
            # A retry gets the original message, whatever body it carried.
            assert by_key.setdefault(key, result) == result
    for conversation in conversations:
        seqs = [m.seq for m in rows if m.conversation_id == conversation.id]
        assert seqs == list(range(1, len(seqs) + 1)), "seqs must have no gaps"
    stored = [(m.conversation_id, m.sender_id, m.client_msg_id) for m in rows if m.client_msg_id]
    assert sorted(stored) == sorted(by_key), "exactly one row per accepted client_msg_id"
