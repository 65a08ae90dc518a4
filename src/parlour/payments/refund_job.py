"""The refund job: one per order (its key is the order id), run after the transaction that
decided it committed. Stripe gets the job's idempotency key as `Idempotency-Key`, so an
attempt repeated after a crash refunds once. The test provider refunds locally."""

from __future__ import annotations

import hashlib

import stripe

from parlour.jobs import Backoff, JobContext, JobRegistry, PermanentFailure
from parlour.models.payment import Provider
from parlour.payments import provider
from parlour.payments import service as payments


def stripe_idempotency_key(job_key: str) -> str:
    # Stripe takes keys up to 255 characters; the job's key is short, but hash to be sure.
    return job_key if len(job_key) <= 200 else hashlib.sha256(job_key.encode()).hexdigest()


async def refund(ctx: JobContext) -> None:
    tenant_id = ctx.principal.tenant_id
    order_id = str(ctx.payload["order_id"])
    settings = ctx.runtime.settings
    async with ctx.uow(write=False) as tx:
        target = await payments.refund_target(tx, tenant_id, order_id)
        keys = await payments.stripe_keys(
            tx, tenant_id, settings=settings, server_secret=ctx.runtime.secret_key
        )
    if target is None:
        return  # refunded already, or nothing was paid
    refund_id: str | None
    if target.provider == Provider.test:
        refund_id = f"re_parlour_test_{order_id}"
    else:
        if not keys.secret_key or not target.payment_intent:
            raise PermanentFailure("no Stripe key or payment to refund")
        try:
            created = await provider.create_refund(
                keys.secret_key,
                settings.stripe_api_base,
                payment_intent=target.payment_intent,
                idempotency_key=stripe_idempotency_key(ctx.idempotency_key),
                reason=target.reason,
            )
            refund_id = created.id
        except provider.AlreadyRefunded:
            refund_id = None
        except stripe.InvalidRequestError as exc:
            raise PermanentFailure(f"Stripe refused the refund: {exc}") from exc
    async with ctx.uow() as tx:
        await payments.do_record_refund(tx, tenant_id, order_id, refund_id)


def register_with(registry: JobRegistry) -> None:
    """Run refunds on this node (the runtime registers it on its own registry)."""
    registry.register(
        payments.REFUND_JOB,
        refund,
        max_attempts=8,
        backoff=Backoff(base_seconds=30, max_seconds=3600),
        timeout_seconds=60,
    )
