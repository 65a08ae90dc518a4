"""Talking to Stripe through the `stripe` library: Checkout Sessions, refunds, and verifying
webhook signatures. No database here; callers never hold a transaction across these calls."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import stripe

from parlour.core.errors import AppError, BadRequest

log = logging.getLogger(__name__)

# How old a signed webhook may be (Stripe's own default): a replayed old delivery is refused.
SIGNATURE_TOLERANCE_SECONDS = 300


class ProviderError(AppError):
    """Stripe refused or could not be reached; nothing was recorded."""

    status = 503
    code = "payment_provider_unavailable"
    message = "The payment provider could not be reached. Try again."


class PaymentsNotConfigured(AppError):
    """The tenant has no Stripe key and the built-in test provider is off (it is on only for
    the demo or with PARLOUR_PAYMENTS_TEST_PROVIDER): nothing can be bought."""

    status = 503
    code = "payments_not_configured"
    message = "Payments are not set up here yet. Try again later."


@dataclass(frozen=True, slots=True)
class StripeKeys:
    secret_key: str | None
    webhook_secret: str | None


@dataclass(frozen=True, slots=True)
class CreatedSession:
    id: str
    url: str


def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    # One client per call: keys are per tenant, and a client holds no connection worth keeping.
    return stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=2)


async def create_checkout_session(
    secret_key: str,
    api_base: str,
    *,
    name: str,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    client_reference_id: str,
    customer_email: str | None,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CreatedSession:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount,
                    "product_data": {"name": name},
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": client_reference_id,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    try:
        session = await _client(secret_key, api_base).v1.checkout.sessions.create_async(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        # Stripe's text may name the account, the key or the request: the log has it, the
        # visitor gets the generic message and the stable code.
        log.error("Stripe refused the checkout %s: %s", client_reference_id, exc)
        raise ProviderError() from exc
    if not session.url:
        log.error("Stripe answered the checkout %s without a URL", client_reference_id)
        raise ProviderError()
    return CreatedSession(id=session.id, url=session.url)


@dataclass(frozen=True, slots=True)
class CreatedRefund:
    id: str
    status: str | None


class AlreadyRefunded(Exception):
    """Stripe says the charge was refunded already (by us before, or from the dashboard)."""


async def create_refund(
    secret_key: str, api_base: str, *, payment_intent: str, idempotency_key: str, reason: str
) -> CreatedRefund:
    """Refund a payment in full. The same `idempotency_key` on a retry returns the first
    refund (Stripe's `Idempotency-Key`), so a job that runs twice refunds once."""
    try:
        refund = await _client(secret_key, api_base).v1.refunds.create_async(
            {"payment_intent": payment_intent, "metadata": {"reason": reason}},
            {"idempotency_key": idempotency_key},
        )
    except stripe.InvalidRequestError as exc:
        if exc.code == "charge_already_refunded":
            raise AlreadyRefunded() from exc
        raise
    return CreatedRefund(id=refund.id, status=refund.status)


def verify_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event a Stripe webhook delivery carries, if its `Stripe-Signature` verifies with
    `secret` and is fresh; `BadRequest` (nothing done) otherwise."""
    if not signature:
        raise BadRequest("The Stripe-Signature header is missing.", code="signature_missing")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("The payload is not UTF-8.", code="invalid_payload") from exc
    try:
        # The library's own check (HMAC-SHA256 of "t.payload", constant-time compare, and the
        # timestamp within the tolerance); its Event object is not used: the dict below is.
        stripe.Webhook.construct_event(text, signature, secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc).lower():
            raise BadRequest(
                "The signature is too old (a replayed delivery?).", code="signature_stale"
            ) from exc
        raise BadRequest("The signature does not verify.", code="signature_invalid") from exc
    except Exception as exc:  # signed, but not JSON or not an event the library can read
        raise BadRequest("The payload is not JSON.", code="invalid_payload") from exc
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise BadRequest("The payload is not JSON.", code="invalid_payload") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise BadRequest("The payload is not a Stripe event.", code="invalid_payload")
    return event
