"""The realtime WebSocket at /api/v1/realtime: authenticate, then serve frames.

Close codes: 4001 not authenticated (or the credential stopped being valid: it expired, was
logged out or revoked, its password changed, its user was deactivated), 4003 origin not
allowed, 4008 too slow, 1007 a frame that is not a JSON object, 1009 a frame over the size
limit, 1011 an internal error (the connection's sender failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from parlour.auth.principal import Principal, db_scope
from parlour.auth.service import Credential
from parlour.calls import service as calls
from parlour.conversations import service as conversations
from parlour.conversations.access import access_conversation
from parlour.conversations.reads import ReadRequest
from parlour.core import rls
from parlour.core.errors import (
    AppError,
    BadRequest,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)
from parlour.core.events import CREDENTIALS_EVENT, MISSED_EVENT, Audience, AudienceKind, Event
from parlour.deps import authenticate_session, credential_from
from parlour.messages import service as messages
from parlour.messages.schemas import MessageRead
from parlour.messages.service import SendRequest
from parlour.realtime.broker import Subscription
from parlour.realtime.connection import BACKLOG_PAGE, Outbox
from parlour.realtime.envelopes import typing_event
from parlour.realtime.frames import (
    AuthFrame,
    ClientFrame,
    PingFrame,
    ReadFrame,
    SendFrame,
    SignalFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
    client_frame,
)
from parlour.runtime import Runtime
from parlour.tickets import service as tickets  # desk: widget origins for guests

log = logging.getLogger(__name__)
router = APIRouter()

AUTH_TIMEOUT_SECONDS = 10.0
# How long a closing connection waits for its in-flight sends and queued frames.
FLUSH_SECONDS = 3.0
TOO_SLOW = 4008
UNAUTHORIZED = 4001
INTERNAL_ERROR = 1011


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


def _audiences(principal: Principal) -> list[Audience]:
    """The audiences a connection belongs to besides the conversations it subscribes to (each
    checked at subscribe): the user's own feed, the tenant's admin feed for admins and keys (who
    read every conversation of their tenant), the redacted queue feed for staff, and the tenant's
    API-key feed for a key (credential re-checks)."""
    found = []
    if principal.user_id:
        found.append(Audience.user(principal.user_id))
    if principal.is_admin or principal.is_service:
        found.append(Audience.tenant_admins(principal.tenant_id))
    if principal.is_staff:
        found.append(Audience.staff_queue(principal.tenant_id))
    if principal.is_service:
        found.append(Audience.tenant_keys(principal.tenant_id))
    return found


class Session:
    """One authenticated connection."""

    def __init__(
        self, ws: WebSocket, runtime: Runtime, credential: Credential, raw_credential: str
    ) -> None:
        self.ws = ws
        self.runtime = runtime
        self.principal = credential.principal
        # rls: the socket's database scope. Passed explicitly where work may start in another
        # task's context (a broker listener runs in the publisher's).
        self.scope = db_scope(self.principal)
        self.expires_at = credential.expires_at
        # Kept to re-check when told the credential may have been revoked.
        self._credential = raw_credential
        self.outbox = Outbox(
            send_text=ws.send_text,
            read_backlog=self._read_backlog,
            queue_size=runtime.settings.ws_queue_size,
        )
        self.outbox.on_overflow = self._overflow
        self._feeds: list[Subscription] = []
        # inbox: feed events that arrive between subscribing the feeds and queueing `ready`
        # (the credential re-check awaits the database): `ready` is always the first frame.
        self._early: list[Event] | None = []
        self._sends = asyncio.Semaphore(runtime.settings.ws_max_inflight_sends)
        self._tasks: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None
        # Why the connection is being closed from outside the read loop (pump failure,
        # credential no longer valid); the main task is cancelled and raises this.
        self._closing: CloseConnection | None = None

    def _listen(self, event: Event) -> None:
        """The broker listener: never blocks. Internal events act on the connection; the rest
        are queued for the client."""
        if event.internal:
            if event.type == CREDENTIALS_EVENT:
                self._spawn(self._recheck_credential())
            elif event.type == MISSED_EVENT and event.conversation_id is not None:
                # redis: the broker may have lost events: re-read from the last seq sent.
                self.outbox.catch_up(event.conversation_id)
            return
        if (
            event.type == "conversation"
            and event.audience.kind is AudienceKind.conversation
            and event.conversation_id in self.outbox.subs
            and not (self.principal.is_admin or self.principal.is_service)
        ):
            # Participants changed: a subscriber who lost access stops receiving.
            self._spawn(self._recheck_access(event.conversation_id))
        if self._early is not None:  # inbox: held until `ready` has been queued
            if len(self._early) >= self.runtime.settings.ws_queue_size:
                self.outbox.too_slow = True
                self._overflow()
                return
            self._early.append(event)
            return
        self.outbox.listener(event)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._spawned_done)

    def _spawned_done(self, task: asyncio.Task[None]) -> None:
        # A re-check that fails (the database away) is logged, never left unretrieved; the
        # next event or the token's expiry checks again.
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a realtime background check failed", exc_info=task.exception())

    def _overflow(self) -> None:
        if self._main is not None:
            self._main.cancel()

    def _stop(self, reason: CloseConnection) -> None:
        """Close the connection from outside the read loop."""
        if self._closing is None and self._main is not None:
            self._closing = reason
            if self._main is not None:
                self._main.cancel()

    def _pump_done(self, task: asyncio.Task[None]) -> None:
        """The sender is supervised: if it dies the connection closes with 1011 and a reason,
        never left a zombie that later looks too slow."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if isinstance(exc, WebSocketDisconnect):  # the client left mid-send: nothing to tell
            log.info("realtime client left while frames were being sent")
        else:
            log.error("realtime sender failed; closing the connection", exc_info=exc)
        self._stop(CloseConnection(INTERNAL_ERROR, f"internal error: {type(exc).__name__}"))

    def _expired(self) -> None:
        self._stop(CloseConnection(UNAUTHORIZED, "the token has expired"))

    async def _recheck_credential(self) -> None:
        try:
            await authenticate_session(self.runtime, self._credential)
        except Unauthorized:
            self._stop(CloseConnection(UNAUTHORIZED, "the credential is no longer valid"))
        except Exception:  # the database is down: the next event or the expiry re-checks
            log.exception("re-checking a realtime credential failed")

    async def _recheck_access(self, conversation_id: str) -> None:
        sub = self.outbox.subs.get(conversation_id)
        if sub is None:
            return
        try:
            async with self.runtime.uow(write=False, scope=self.scope) as tx:
                await access_conversation(tx.session, self.principal, conversation_id)
        except AppError as exc:
            if self.outbox.subs.get(conversation_id) is sub:
                del self.outbox.subs[conversation_id]
                if sub.subscription:
                    await sub.subscription.close()
                frame = error_frame(exc, None)
                frame["conversation_id"] = conversation_id
                self.outbox.frame(frame)

    async def _read_backlog(
        self, conversation_id: str, after: int, upto: int | None
    ) -> list[MessageRead]:
        # Through the messages service: the reader's access is checked on every read.
        async with self.runtime.uow(write=False, scope=self.scope) as tx:
            page = await messages.list_messages(
                tx,
                self.principal,
                conversation_id=conversation_id,
                after_seq=after,
                before_seq=None if upto is None else upto + 1,
                limit=BACKLOG_PAGE,
            )
        return page.messages

    async def run(self) -> None:
        """Serve until the client leaves; raises CloseConnection to close with a code."""
        self._main = asyncio.current_task()
        # rls: every frame's unit of work (and the tasks made below) in the caller's scope.
        rls.enter(self.scope)
        broker = self.runtime.broker
        for audience in _audiences(self.principal):
            self._feeds.append(await broker.subscribe(audience.channel, self._listen))
        pump = asyncio.create_task(self.outbox.pump())
        pump.add_done_callback(self._pump_done)
        expiry = None
        if self.expires_at is not None:
            left = (self.expires_at - self.runtime.clock.now()).total_seconds()
            expiry = asyncio.get_running_loop().call_later(max(0.0, left), self._expired)
        try:
            # Revoked between authentication and the feeds above? Re-check once subscribed.
            await authenticate_session(self.runtime, self._credential)
            self.outbox.frame(
                {
                    "type": "ready",
                    "user_id": self.principal.user_id,
                    "role": self.principal.role,
                    "tenant_id": self.principal.tenant_id,
                }
            )
            early, self._early = self._early or [], None  # inbox
            for event in early:
                self.outbox.listener(event)
            await self._read_loop()
        except CloseConnection:
            await self._flush()
            raise
        except Unauthorized as exc:
            raise CloseConnection(UNAUTHORIZED, exc.message) from exc
        except asyncio.CancelledError:
            if self._closing is not None or self.outbox.too_slow:
                if self._main is not None:
                    self._main.uncancel()  # our own cancel: closing, not being torn down
                if self._closing is not None:
                    raise self._closing from None
                raise CloseConnection(TOO_SLOW, "too slow: the outgoing queue is full") from None
            raise
        finally:
            self._main = None  # from here on, nothing cancels this task to close it
            if expiry is not None:
                expiry.cancel()
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
            try:
                await self.runtime.limiter.hit(
                    f"typing:{self.principal.user_id or self.principal.api_key_id}",
                    limit=self.runtime.settings.typing_rate_per_minute,
                )
            except RateLimited:
                return  # over the limit a typing indicator is dropped: it is ephemeral
            await self._typing(frame)
        elif isinstance(frame, ReadFrame):
            await self.runtime.limiter.hit(
                f"read:{self.principal.user_id or self.principal.api_key_id}",
                limit=self.runtime.settings.read_rate_per_minute,
            )
            # Coalesced with other read pointers into one transaction; only a refusal answers.
            ref = frame.ref
            self.runtime.read_writer.submit_nowait(
                ReadRequest(self.principal, frame.conversation_id, frame.seq),
                on_error=lambda exc: self.outbox.frame(error_frame(exc, ref)),
            )
        elif isinstance(frame, SignalFrame):
            await self._signal(frame)
        elif isinstance(frame, AuthFrame):
            raise BadRequest("Already authenticated.", code="already_authenticated")

    async def _subscribe(self, frame: SubscribeFrame) -> None:
        cid = frame.conversation_id
        # An admin from outside subscribes as a recorded observer, as over REST: nobody reads
        # silently.
        may_write = conversations.reading_may_write(self.principal)
        async with self.runtime.uow(write=may_write) as tx:
            access = await conversations.do_open_for_reading(tx, self.principal, cid)
        last_seq = access.conversation.last_seq
        if frame.after_seq is not None and frame.after_seq > last_seq:
            raise BadRequest(
                f"after_seq is beyond the last message ({last_seq}).", code="invalid_seq"
            )
        old = self.outbox.subs.pop(cid, None)
        if old and old.subscription:
            await old.subscription.close()
        # A new generation: a backlog still queued for the old subscription is dropped.
        sub = self.outbox.subscribe(cid)
        # Broker first, then the backlog: nothing committed in between can be missed.
        sub.subscription = await self.runtime.broker.subscribe(
            Audience.conversation(cid).channel, self._listen
        )
        after = frame.after_seq if frame.after_seq is not None else last_seq
        self.outbox.backlog(cid, after, frame.ref, generation=sub.generation)

    async def _send(self, frame: SendFrame) -> None:
        await self.runtime.limiter.hit(
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
                SendRequest(
                    self.principal,
                    frame.conversation_id,
                    frame.body,
                    frame.client_msg_id,
                    attachment_ids=tuple(frame.attachment_ids),
                )
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

    async def _signal(self, frame: SignalFrame) -> None:
        """video: relay a WebRTC signal to the call's other party (docs/video-calls.md). Size
        and rate first (a refused sender still costs no database work beyond its budget), then
        who may: anyone but the call's two parties hears `conversation_not_found`, as for a
        conversation that does not exist, and nothing is relayed. Nothing is stored."""
        settings = self.runtime.settings
        if frame.description is not None and len(frame.description.sdp) > settings.max_sdp_chars:
            raise PayloadTooLarge(
                f"A session description is limited to {settings.max_sdp_chars} characters."
            )
        await self.runtime.limiter.hit(
            f"signal:{self.principal.user_id or self.principal.api_key_id}",
            limit=settings.signal_rate_per_minute,
        )
        async with self.runtime.uow(write=False) as tx:
            parties = await calls.call_parties(tx, self.principal, frame.conversation_id)
        event = calls.signal_event(parties, frame.relayed())
        if event is not None:
            await self.runtime.broker.publish(event)


async def _authenticate(ws: WebSocket, runtime: Runtime) -> tuple[Credential, str]:
    """Token from the query, a cookie (only from an allowed Origin) or the first frame; the
    caller and the credential (kept to re-check it later)."""
    token = ws.query_params.get("token")
    if token:
        return await _origin_checked(ws, runtime, token, from_cookie=False), token
    credential, from_cookie = credential_from(ws)
    # desk: `?auth=frame` says "my first frame authenticates me": a page that holds its own
    # token (the support widget's guest) is not taken for whoever the browser's cookie is.
    if credential and from_cookie and ws.query_params.get("auth") == "frame":
        credential = None
    if credential:
        return await _origin_checked(ws, runtime, credential, from_cookie=from_cookie), credential
    try:
        text = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        raise CloseConnection(UNAUTHORIZED, "authentication timed out") from None
    try:
        frame = _parse(text, runtime.settings.ws_max_frame_bytes)
    except FrameError as exc:
        raise CloseConnection(UNAUTHORIZED, "the first frame must be auth") from exc
    if not isinstance(frame, AuthFrame):
        raise CloseConnection(UNAUTHORIZED, "the first frame must be auth")
    return await _origin_checked(ws, runtime, frame.token, from_cookie=False), frame.token


async def _origin_checked(
    ws: WebSocket, runtime: Runtime, credential: str, *, from_cookie: bool
) -> Credential:
    """The credential's session, if the browser Origin may use it. Our own origin and
    PARLOUR_ALLOWED_ORIGINS may use any credential. Another origin may use the session cookie
    only for a guest of a tenant that lists it (`widget_allowed_origins`), and a guest's
    token only if its tenant lists it (desk: the support widget); a signed-in user's token is
    not tied to an origin (a page cannot forge a header or frame carrying it)."""
    origin = ws.headers.get("origin")
    host = ws.headers.get("host", "")
    ours = not origin or runtime.settings.origin_allowed(origin, scheme=ws.url.scheme, host=host)
    if (
        from_cookie
        and not ours
        and not await _is_guest_cookie_origin_allowed(runtime, credential, origin or "")
    ):
        raise CloseConnection(4003, "origin not allowed")
    found = await authenticate_session(runtime, credential)
    if not ours and not from_cookie:
        # rls: before the session sets its scope: pass the caller's.
        async with runtime.uow(write=False, scope=db_scope(found.principal)) as tx:
            verdict = await tickets.guest_origin_allowed(tx, found.principal, origin or "")
        if verdict is False:
            raise CloseConnection(4003, "origin not allowed")
    return found


async def _is_guest_cookie_origin_allowed(runtime: Runtime, credential: str, origin: str) -> bool:
    try:
        found = await authenticate_session(runtime, credential)
    except Unauthorized:
        return False
    async with runtime.uow(write=False, scope=db_scope(found.principal)) as tx:  # rls:
        return await tickets.guest_origin_allowed(tx, found.principal, origin) is True


async def _close(ws: WebSocket, exc: CloseConnection, *, within: float) -> None:
    """Say why, then close, within `within` seconds: a socket that takes no more data (a
    client that stopped reading) is abandoned rather than awaited forever. A slow client's
    pipe is full, so it gets only the close frame."""
    try:
        async with asyncio.timeout(within):
            if exc.code != TOO_SLOW:
                frame = {"type": "error", "code": "closed", "message": exc.reason, "ref": None}
                with contextlib.suppress(Exception):  # the close frame says it all as well
                    await ws.send_text(json.dumps(frame))
            await ws.close(code=exc.code, reason=exc.reason)
    except TimeoutError:
        log.warning("closing a realtime connection (%s) timed out; abandoned", exc.code)
    except Exception:  # the client is gone already
        return


@router.websocket("/realtime")
async def realtime(ws: WebSocket) -> None:
    runtime: Runtime = ws.app.state.runtime
    await ws.accept()
    try:
        try:
            credential, raw = await _authenticate(ws, runtime)
        except Unauthorized as exc:
            raise CloseConnection(UNAUTHORIZED, exc.message) from exc
        await Session(ws, runtime, credential, raw).run()
    except CloseConnection as exc:
        await _close(ws, exc, within=runtime.settings.ws_close_timeout_seconds)
    except WebSocketDisconnect:
        return
