"""The inbound SMTP listener (aiosmtpd), run by the node as a supervised task.

Off unless `PARLOUR_SMTP_LISTEN_HOST` is set. It serves on the node's own event loop, so its
handler calls the ingest service directly. What it takes:

- recipients: only the address of an enabled email channel account, or a reply address of one
  (`support+<token>@…`); anything else is refused at RCPT (550), before any data is sent, so
  the node relays nothing and never has to bounce (no backscatter). At most
  `ingest.MAX_RECIPIENTS` per mail.
- size: `PARLOUR_EMAIL_MAX_BYTES` (announced in EHLO's SIZE; more is refused with 552).
- rate: `PARLOUR_EMAIL_RATE_PER_MINUTE` mails per client address (then 450, try later).

A mail the ingest refuses (no sender, a sender that may not write) gets a 550 with the reason;
a failure of ours (the database away) a 451, so the sending server tries again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from parlour.core.errors import AppError, PayloadTooLarge, RateLimited
from parlour.core.supervise import Supervised, supervise
from parlour.mail import ingest

if TYPE_CHECKING:
    from parlour.runtime import Runtime

log = logging.getLogger(__name__)

READY_SECONDS = 5.0
WILDCARDS = frozenset({"0.0.0.0", "::"})
SESSION_TIMEOUT_SECONDS = 60.0


class _Handler:
    """aiosmtpd's hooks: each answers an SMTP command with a reply line."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            await self.runtime.limiter.hit(
                f"smtp:{peer}", limit=self.runtime.settings.email_rate_per_minute
            )
        except RateLimited:
            return "450 4.7.1 Too many messages from your address; try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= ingest.MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            known = await ingest.accepts(self.runtime, address)
        except Exception:
            log.exception("smtp: checking recipient failed")
            return "451 4.3.0 Temporary failure; try again later"
        if not known:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        try:
            deliveries = await ingest.receive(self.runtime, raw, list(envelope.rcpt_tos))
        except PayloadTooLarge as exc:
            return f"552 5.3.4 {exc.message}"
        except AppError as exc:
            if exc.status >= 500:
                return "451 4.3.0 Temporary failure; try again later"
            return f"550 5.7.1 {exc.message}"
        except Exception:
            log.exception("smtp: storing a message failed")
            return "451 4.3.0 Temporary failure; try again later"
        log.info("smtp: message stored for %d tenant(s)", len(deliveries))
        return "250 2.0.0 Message accepted for delivery"


class SmtpListener:
    """The listener's server, kept up by `supervise` (a failure is logged and restarted)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.port: int | None = None  # the bound port (PARLOUR_SMTP_LISTEN_PORT=0 picks one)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # How often serving failed and was restarted (a port in use, a socket error).
        self.stats = Supervised("smtp-listener")

    def _protocol(self) -> SMTP:
        settings = self.runtime.settings
        return SMTP(
            _Handler(self.runtime),
            data_size_limit=settings.email_max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            # The name in the greeting: the bind address, or this machine's name for a wildcard.
            hostname=settings.smtp_listen_host
            if settings.smtp_listen_host not in WILDCARDS
            else socket.gethostname(),
            ident="Parlour ESMTP",
            timeout=SESSION_TIMEOUT_SECONDS,
        )

    async def _serve(self) -> None:
        settings = self.runtime.settings
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            self._protocol, host=settings.smtp_listen_host, port=settings.smtp_listen_port
        )
        try:
            sockets: Any = server.sockets
            self.port = int(sockets[0].getsockname()[1])
            self._ready.set()
            log.info("smtp listener on %s:%d", settings.smtp_listen_host, self.port)
            await asyncio.Event().wait()  # until cancelled
        finally:
            # Stop accepting; not `wait_closed`, which would wait for every idle session.
            server.close()

    async def start(self, *, wait_seconds: float = READY_SECONDS) -> None:
        """Start serving; returns once the port is bound, or after `wait_seconds` of trying
        (a port still in use is tried again, with backoff, until it is free)."""
        self._ready.clear()
        self._task = supervise("smtp-listener", self._serve, stats=self.stats)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=wait_seconds)

    async def wait_ready(self, *, seconds: float) -> bool:
        """Whether the listener is serving (waiting up to `seconds` for it)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=seconds)
        return self._ready.is_set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
