"""Payments tests: a stand-in Stripe server, signed webhook deliveries, a frozen clock."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stripe

from parlour.config import Settings
from parlour.core.clock import FrozenClock
from parlour.runtime import Runtime, build_runtime
from tests.http_client import app_client
from tests.payments.fake_stripe import FakeStripe, start_fake_stripe

WEBHOOK_SECRET = "whsec_test_parlour_webhook_secret"
SECRET_KEY = "sk_test_parlour_fake_key"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake, server = start_fake_stripe()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def stripe_rt(
    settings: Settings, fake_stripe: FakeStripe, clock: FrozenClock
) -> AsyncIterator[Runtime]:
    """A node whose default tenant has Stripe keys, talking to the stand-in server."""
    settings.stripe_secret_key = SECRET_KEY
    settings.stripe_webhook_secret = WEBHOOK_SECRET
    settings.stripe_api_base = fake_stripe.url
    settings.job_poll_seconds = 0.05
    settings.sweep_interval_seconds = 0  # tests run the sweep themselves
    rt = build_runtime(settings, clock=clock)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
async def offline_rt(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A node with no Stripe key: the built-in test provider (turned on, as the demo has it)."""
    settings.payments_test_provider = True
    settings.job_poll_seconds = 0.05
    settings.sweep_interval_seconds = 0
    rt = build_runtime(settings, clock=clock)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
async def http(stripe_rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(stripe_rt) as client:
        yield client


@pytest.fixture
async def offline_http(offline_rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(offline_rt) as client:
        yield client


def signed(payload: str, secret: str = WEBHOOK_SECRET, *, at: int | None = None) -> dict[str, str]:
    """Headers of a delivery signed exactly as Stripe signs (the library's own helper:
    `t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")`)."""
    header = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=at if at is not None else int(time.time())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{kind.replace('.', '_')}_{obj.get('id', 'x')}",
            "object": "event",
            "api_version": "2025-01-27",
            "created": int(time.time()),
            "livemode": False,
            "type": kind,
            "data": {"object": obj},
        }
    )


def completed_session(
    session: dict[str, Any], *, payment_intent: str = "pi_test_1", **over: Any
) -> dict[str, Any]:
    """The `checkout.session` object of a completed, paid checkout."""
    return {
        **session,
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": payment_intent,
        **over,
    }
