"""A stand-in for Twilio's REST API: a small local HTTP server speaking the same wire format
for the parts Parlour uses, because api.twilio.com cannot be reached from the tests.

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded `To`, `From`, `Body` or
  `ContentSid`/`ContentVariables`, `StatusCallback`; HTTP Basic auth with the account SID and
  auth token) answers 201 with a Message resource (`sid` "SM…", `status` "queued", RFC 2822
  `date_created`), or Twilio's error body `{"code", "message", "more_info", "status"}`.
- `GET` of the same path lists messages newest first, filtered by `To` and `From`, in Twilio's
  page format (`{"messages": [...], "first_page_uri", "next_page_uri", ...}`).
- `GET /media/{name}` serves media bytes, also behind Basic auth, as Twilio's `MediaUrl`s are.

Behaviours a test can ask for: `fail_next` (statuses to answer the next creates with, before
accepting them), `hang_after_accept` (accept the next create, then wait this long before
answering, so the client times out after the message exists), `refuse` (a permanent 4xx).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class StandInMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    content_sid: str | None
    content_variables: str | None
    date_created: datetime

    def resource(self, account_sid: str) -> dict[str, Any]:
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": format_datetime(self.date_created),
            "date_sent": None,
            "date_updated": format_datetime(self.date_created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": "queued",
            "subresource_uris": {},
            "to": self.to,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class TwilioStandIn:
    account_sid: str
    auth_token: str
    messages: list[StandInMessage] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)
    hang_after_accept: float = 0.0
    refuse: tuple[int, int, str] | None = None
    creates: int = 0  # create requests received (accepted or not)
    media_requests: list[str | None] = field(default_factory=list)  # Authorization headers
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _ids: Any = field(default_factory=lambda: count(1))
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def media_url(self, name: str) -> str:
        return f"{self.base_url}/media/{name}"

    def start(self) -> TwilioStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._post(self)

            def do_GET(self) -> None:
                standin._get(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # --- the wire ---------------------------------------------------------------------------

    def _authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return handler.headers.get("Authorization") == f"Basic {expected}"

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: int, text: str) -> None:
        self._answer(
            handler,
            status,
            {
                "code": code,
                "message": text,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _messages_path(self, path: str) -> bool:
        return path == f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        if not self._messages_path(path):
            return self._error(handler, 404, 20404, "The requested resource was not found")
        if not self._authorised(handler):
            return self._error(handler, 401, 20003, "Authenticate")
        with self._lock:
            self.creates += 1
            if self.fail_next:
                return self._error(handler, self.fail_next.pop(0), 20500, "Internal Server Error")
            if self.refuse is not None:
                status, code, text = self.refuse
                return self._error(handler, status, code, text)
            message = StandInMessage(
                sid=f"SM{next(self._ids):032x}",
                to=form.get("To", ""),
                from_=form.get("From", ""),
                body=form.get("Body", ""),
                status_callback=form.get("StatusCallback"),
                content_sid=form.get("ContentSid"),
                content_variables=form.get("ContentVariables"),
                date_created=datetime.now(UTC).replace(microsecond=0),
            )
            self.messages.append(message)
            hang, self.hang_after_accept = self.hang_after_accept, 0.0
        if hang:
            self._stopping.wait(hang)  # accepted, but the answer comes too late
        self._answer(handler, 201, message.resource(self.account_sid))

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        if parts.path.startswith("/media/"):
            with self._lock:
                self.media_requests.append(handler.headers.get("Authorization"))
            if not self._authorised(handler):
                return self._error(handler, 401, 20003, "Authenticate")
            found = self.media.get(parts.path.removeprefix("/media/"))
            if found is None:
                return self._error(handler, 404, 20404, "Not found")
            data, content_type = found
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return None
        if not self._messages_path(parts.path):
            return self._error(handler, 404, 20404, "The requested resource was not found")
        if not self._authorised(handler):
            return self._error(handler, 401, 20003, "Authenticate")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            found = [
                m.resource(self.account_sid)
                for m in reversed(self.messages)
                if m.to == query.get("To", m.to) and m.from_ == query.get("From", m.from_)
            ]
        uri = parts.path
        self._answer(
            handler,
            200,
            {
                "messages": found,
                "end": max(len(found) - 1, 0),
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": f"{uri}?PageSize=50&Page=0",
            },
        )
        return None
