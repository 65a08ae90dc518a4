"""The realtime WebSocket at /api/v1/realtime: authenticate, then serve frames.

Close codes: 4001 not authenticated, 4003 origin not allowed, 4008 too slow, 1007 a frame that
is not a JSON object, 1009 a frame over the size limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.conversations.access import access_conversation
from parlour.core.errors import AppError, BadRequest, Unauthorized
from parlour.core.events import conversation_channel, staff_channel, user_channel
from parlour.deps import authenticate_credential, credential_from
from parlour.messages import repository as message_repository
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest
from parlour.realtime.broker import Subscription
from parlour.realtime.connection import BACKLOG_PAGE, ConversationSub, Outbox
from parlour.realtime.envelopes import typing_event
from parlour.realtime.frames import (
    AuthFrame,
    ClientFrame,
    PingFrame,
    ReadFrame,
    SendFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
    client_frame,
)
from parlour.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()

AUTH_TIMEOUT_SECONDS = 10.0
# How long a closing connection waits for its in-flight sends and queued frames.
FLUSH_SECONDS = 3.0
CLOSE_SECONDS = 5.0
TOO_SLOW = 4008


class CloseConnection(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def error_frame(exc: AppError, ref: str | None) -> dict[str, object]:
    return {"type": "error", "code": exc.code, "message": exc.message, "ref": ref}


def _parse(text: str, max_bytes: int) -> ClientFrame:
    if len(text.encode()) > max_bytes:
        raise CloseConnection(1009, f"frames are limited to {max_bytes} bytes")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise CloseConnection(1007, "frames must be JSON objects") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise CloseConnection(1007, "frames must be JSON objects with a type")
    try:
        return client_frame.validate_python(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        ref = raw.get("ref") if isinstance(raw.get("ref"), str) else None
        raise FrameError(BadRequest(f"{where}: {first['msg']}", code="invalid_frame"), ref) from exc


class FrameError(Exception):
    def __init__(self, error: AppError, ref: str | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.ref = ref


class Session:
    """One authenticated connection."""

    def __init__(self, ws: WebSocket, runtime: Runtime, principal: Principal) -> None:
        self.ws = ws
        self.runtime = runtime
        self.principal = principal
        self.outbox = Outbox(
            send_text=ws.send_text,
            read_backlog=self._read_backlog,
            queue_size=runtime.settings.ws_queue_size,
        )
        self.outbox.on_overflow = self._overflow
        self._feeds: list[Subscription] = []
        self._sends = asyncio.Semaphore(runtime.settings.ws_max_inflight_sends)
        self._tasks: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None

    def _overflow(self) -> None:
        if self._main is not None:
            self._main.cancel()

    async def _read_backlog(
        self, conversation_id: str, after: int, upto: int | None
    ) -> list[MessageRead]:
        async with self.runtime.uow(write=False) as tx:
            rows, _ = await message_repository.page(
                tx.session,
                conversation_id,
                after_seq=after,
                before_seq=None if upto is None else upto + 1,
                limit=BACKLOG_PAGE,
            )
        return [MessageRead.model_validate(m) for m in rows]

    async def run(self) -> None:
        """Serve until the client leaves; raises TooSlow when the outbox overflowed."""
        self._main = asyncio.current_task()
        broker = self.runtime.broker
        if self.principal.user_id:
            self._feeds.append(
                await broker.subscribe(user_channel(self.principal.user_id), self.outbox.listener)
            )
        if self.principal.is_staff:
            self._feeds.append(
                await broker.subscribe(
                    staff_channel(self.principal.tenant_id), self.outbox.listener
                )
            )
        pump = asyncio.create_task(self.outbox.pump())
        try:
            self.outbox.frame(
                {
                    "type": "ready",
                    "user_id": self.principal.user_id,
                    "role": self.principal.role,
                    "tenant_id": self.principal.tenant_id,
                }
            )
            await self._read_loop()
        except CloseConnection:
            await self._flush()
            raise
        except asyncio.CancelledError:
            if self.outbox.too_slow:
                raise CloseConnection(TOO_SLOW, "too slow: the outgoing queue is full") from None
            raise
        finally:
            pump.cancel()
            for task in list(self._tasks):
                task.cancel()
            for sub in [
                *self._feeds,
                *(s.subscription for s in self.outbox.subs.values() if s.subscription),
            ]:
                await sub.close()
            self.outbox.subs.clear()

    async def _flush(self) -> None:
        """Before closing: let sends in flight finish and their acks and errors go out."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=FLUSH_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.outbox.drain(), FLUSH_SECONDS)

    async def _read_loop(self) -> None:
        max_bytes = self.runtime.settings.ws_max_frame_bytes
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                raise CloseConnection(1003, "binary frames are not supported")
            try:
                frame = _parse(text, max_bytes)
                await self._handle(frame)
            except FrameError as exc:
                self.outbox.frame(error_frame(exc.error, exc.ref))
            except AppError as exc:
                self.outbox.frame(error_frame(exc, getattr(frame, "ref", None)))

    async def _handle(self, frame: ClientFrame) -> None:
        if isinstance(frame, PingFrame):
            self.outbox.frame({"type": "pong", "ref": frame.ref})
        elif isinstance(frame, SubscribeFrame):
            await self._subscribe(frame)
        elif isinstance(frame, UnsubscribeFrame):
            sub = self.outbox.subs.pop(frame.conversation_id, None)
            if sub and sub.subscription:
                await sub.subscription.close()
        elif isinstance(frame, SendFrame):
            await self._send(frame)
        elif isinstance(frame, TypingFrame):
            await self._typing(frame)
        elif isinstance(frame, ReadFrame):
            async with self.runtime.uow() as tx:
                await conversations.do_mark_read(
                    tx, self.principal, frame.conversation_id, seq=frame.seq
                )
        elif isinstance(frame, AuthFrame):
            raise BadRequest("Already authenticated.", code="already_authenticated")

    async def _subscribe(self, frame: SubscribeFrame) -> None:
        cid = frame.conversation_id
        async with self.runtime.uow(write=False) as tx:
            access = await access_conversation(tx.session, self.principal, cid)
        last_seq = access.conversation.last_seq
        if frame.after_seq is not None and frame.after_seq > last_seq:
            raise BadRequest(
                f"after_seq is beyond the last message ({last_seq}).", code="invalid_seq"
            )
        old = self.outbox.subs.pop(cid, None)
        if old and old.subscription:
            await old.subscription.close()
        sub = ConversationSub()
        self.outbox.subs[cid] = sub
        # Broker first, then the backlog: nothing committed in between can be missed.
        sub.subscription = await self.runtime.broker.subscribe(
            conversation_channel(cid), self.outbox.listener
        )
        after = frame.after_seq if frame.after_seq is not None else last_seq
        self.outbox.backlog(cid, after, frame.ref)

    async def _send(self, frame: SendFrame) -> None:
        self.runtime.limiter.hit(
            f"send:{self.principal.user_id}", limit=self.runtime.settings.send_rate_per_minute
        )
        await self._sends.acquire()  # backpressure: stop reading while too many are in flight
        task = asyncio.create_task(self._send_and_ack(frame))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_and_ack(self, frame: SendFrame) -> None:
        ref = frame.ref or frame.client_msg_id
        try:
            message = await self.runtime.writer.send(
                SendRequest(self.principal, frame.conversation_id, frame.body, frame.client_msg_id)
            )
        except AppError as exc:
            self.outbox.frame(error_frame(exc, ref))
        except Exception:
            log.exception("send failed")
            self.outbox.frame(
                error_frame(AppError("The message could not be stored.", code="internal"), ref)
            )
        else:
            # After commit: the writer answers only once the batch is committed.
            self.outbox.frame(
                {
                    "type": "ack",
                    "client_msg_id": frame.client_msg_id,
                    "ref": frame.ref,
                    "message": message.model_dump(mode="json"),
                }
            )
        finally:
            self._sends.release()

    async def _typing(self, frame: TypingFrame) -> None:
        async with self.runtime.uow(write=False) as tx:
            await conversations.do_typing_check(tx, self.principal, frame.conversation_id)
        assert self.principal.user_id is not None
        await self.runtime.broker.publish(
            typing_event(
                conversation_id=frame.conversation_id,
                user_id=self.principal.user_id,
                display_name=self.principal.display_name,
                active=frame.active,
            )
        )


async def _authenticate(ws: WebSocket, runtime: Runtime) -> Principal:
    """Token from the query, a cookie (only from an allowed Origin) or the first frame."""
    token = ws.query_params.get("token")
    if token:
        return await authenticate_credential(runtime, token)
    credential, from_cookie = credential_from(ws)
    if credential and from_cookie:
        origin = ws.headers.get("origin")
        host = ws.headers.get("host", "")
        if origin and not runtime.settings.origin_allowed(origin, scheme=ws.url.scheme, host=host):
            raise CloseConnection(4003, "origin not allowed")
        return await authenticate_credential(runtime, credential)
    if credential:
        return await authenticate_credential(runtime, credential)
    try:
        text = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        raise CloseConnection(4001, "authentication timed out") from None
    try:
        frame = _parse(text, runtime.settings.ws_max_frame_bytes)
    except FrameError as exc:
        raise CloseConnection(4001, "the first frame must be auth") from exc
    if not isinstance(frame, AuthFrame):
        raise CloseConnection(4001, "the first frame must be auth")
    return await authenticate_credential(runtime, frame.token)


async def _close(ws: WebSocket, exc: CloseConnection) -> None:
    if exc.code != TOO_SLOW:  # a slow client's pipe is full: the close frame says it all
        frame = {"type": "error", "code": "closed", "message": exc.reason, "ref": None}
        await ws.send_text(json.dumps(frame))
    await ws.close(code=exc.code, reason=exc.reason)


@router.websocket("/realtime")
async def realtime(ws: WebSocket) -> None:
    runtime: Runtime = ws.app.state.runtime
    await ws.accept()
    try:
        try:
            principal = await _authenticate(ws, runtime)
        except Unauthorized as exc:
            raise CloseConnection(4001, exc.message) from exc
        await Session(ws, runtime, principal).run()
    except CloseConnection as exc:
        with contextlib.suppress(Exception):
            await ws.send_text(
                json.dumps({"type": "error", "code": "closed", "message": exc.reason, "ref": None})
            )
            await ws.close(code=exc.code, reason=exc.reason)
    except WebSocketDisconnect:
        return
