"""A stand-in for an OpenAI-compatible endpoint: a small local HTTP server (on 127.0.0.1, in a
thread) that speaks the chat-completions wire format (`POST /v1/chat/completions`, answers
`{"choices": [{"message": {"role": "assistant", "content": ...}}]}`), because the real
service is unreachable from the test machine.

It records every request it receives (headers, JSON body, arrival time), so tests can assert
what left the server, and it plays a script per kind of request (summary, intent,
suggestions): answer, answer 429 with a Retry-After, hang (until released), or answer garbage.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUMMARY_ANSWER = (
    "The customer was charged twice for the March subscription and already asked their bank. "
    "The agent issued a refund that appears within five business days."
)
INTENT_ANSWER = '{"intent": "refund"}'
SUGGESTIONS_ANSWER = json.dumps(
    [
        "I have issued the refund; it appears within five business days.",
        "Could you confirm the last four digits of the card?",
        "Is there anything else I can help you with?",
    ]
)

OK = "ok"
HANG = "hang"
GARBAGE = "garbage"
NOT_JSON = "not_json"


def too_many(retry_after: str) -> tuple[str, str]:
    return ("429", retry_after)


@dataclass
class Received:
    kind: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float

    @property
    def text(self) -> str:
        """Everything the request carried, as one string (to look for leaks in)."""
        return json.dumps(self.body, ensure_ascii=False)


def kind_of(body: dict[str, Any]) -> str:
    system = str(body.get("messages", [{}])[0].get("content", ""))
    if "intent" in system:
        return "intent"
    if "three short" in system:
        return "suggest"
    return "summary"


@dataclass
class StandIn:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, deque[Any]] = field(default_factory=lambda: defaultdict(deque))
    defaults: dict[str, Any] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    hanging: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, kind: str, *steps: Any) -> None:
        """The next answers to requests of `kind` (then `defaults[kind]`, else OK)."""
        self.scripts[kind].extend(steps)

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind]

    def _next(self, kind: str) -> Any:
        with self._lock:
            queue = self.scripts[kind]
            return queue.popleft() if queue else self.defaults.get(kind, OK)


def _answer(kind: str) -> str:
    return {"intent": INTENT_ANSWER, "suggest": SUGGESTIONS_ANSWER}.get(kind, SUMMARY_ANSWER)


def _handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (a timeout)
                self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            kind = kind_of(body)
            with stand_in._lock:
                stand_in.received.append(
                    Received(kind, body, dict(self.headers.items()), time.monotonic())
                )
            if self.path != "/v1/chat/completions":
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            step = stand_in._next(kind)
            if step == HANG:
                with stand_in._lock:
                    stand_in.hanging += 1
                stand_in.release.wait(30)
                with stand_in._lock:
                    stand_in.hanging -= 1
                step = OK
            if isinstance(step, tuple) and step[0] == "429":
                self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": step[1]})
                return
            if step == GARBAGE:
                self._send(200, json.dumps({"choices": [{"message": {"content": "{}"}}]}).encode())
                return
            if step == NOT_JSON:
                self._send(200, b"<html>upstream error</html>")
                return
            content = step if isinstance(step, str) and step != OK else _answer(kind)
            answer = {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            self._send(200, json.dumps(answer).encode())

    return Handler


class Server:
    """Runs a StandIn on 127.0.0.1 (an ephemeral port) until closed."""

    def __init__(self) -> None:
        self.stand_in = StandIn()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.stand_in))
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self.stand_in.url = f"http://{host!s}:{port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stand_in.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
