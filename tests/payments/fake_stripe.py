"""A small local HTTP server that speaks the part of Stripe's API Parlour uses: a STAND-IN for
api.stripe.com in tests (PARLOUR_STRIPE_API_BASE points the stripe library at it).

It parses the form-encoded bodies the library sends, answers JSON shaped like Stripe's
`checkout.session` and `refund` objects, honours `Idempotency-Key` the way Stripe does (the
same key answers the first response again) and records every request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Set to make the next refund fail as Stripe would (status, error body).
    refund_error: tuple[int, dict[str, Any]] | None = None
    # Set to make checkout sessions fail as Stripe would (status, error body).
    checkout_error: tuple[int, dict[str, Any]] | None = None

    def posts(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    def answer(
        self, method: str, path: str, form: dict[str, str], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        if key and key in self.by_key:
            return 200, self.by_key[key]
        self.counter += 1
        n = self.counter
        if path == "/v1/checkout/sessions":
            if self.checkout_error is not None:
                return self.checkout_error
            sid = f"cs_test_fake{n:04d}"
            body: dict[str, Any] = {
                "id": sid,
                "object": "checkout.session",
                "mode": form.get("mode"),
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": int(form.get("line_items[0][price_data][unit_amount]", "0")),
                "currency": form.get("line_items[0][price_data][currency]"),
                "client_reference_id": form.get("client_reference_id"),
                "metadata": {
                    k[len("metadata[") : -1]: v
                    for k, v in form.items()
                    if k.startswith("metadata[")
                },
                "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"),
                "url": f"https://checkout.stripe.test/c/pay/{sid}",
                "payment_intent": None,
            }
            self.sessions[sid] = body
        elif path == "/v1/refunds":
            if self.refund_error is not None:
                status, error = self.refund_error
                return status, error
            body = {
                "id": f"re_fake{n:04d}",
                "object": "refund",
                "amount": 999,
                "payment_intent": form.get("payment_intent"),
                "status": "succeeded",
                "metadata": {},
            }
        else:
            return 404, {
                "error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}
            }
        if key:
            self.by_key[key] = body
        return 200, body


def start_fake_stripe() -> tuple[FakeStripe, ThreadingHTTPServer]:
    fake = FakeStripe()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = dict(parse_qsl(raw, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:
                fake.requests.append(Recorded("POST", self.path, form, headers))
                status, body = fake.answer("POST", self.path, form, headers.get("idempotency-key"))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_fake{fake.counter}")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
