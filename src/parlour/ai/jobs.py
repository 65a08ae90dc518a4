"""The AI jobs and the hooks that queue summaries, wired by the runtime.

- `ai.analyse` {message_ids}: queued by the send path for customers' messages (one job per
  tenant and write batch); analyses those still `pending`. Language and personal data are found
  here; the provider adds an intent. A provider failure leaves the message `pending` while
  the job retries and `failed` when it gives up (or at once when retrying cannot help).
- `ai.summarise` {conversation_id}: queued by a handover (an agent joins: routing's
  assignment, an admin's reassignment, an agent picking it), by the end, and on demand.

Both call the provider outside any transaction, between two short units of work.
"""

from __future__ import annotations

from collections.abc import Callable

from parlour.ai import pii
from parlour.ai import service as ai
from parlour.ai.kinds import ANALYSE_JOB, SUMMARISE_JOB
from parlour.ai.provider import ProviderError
from parlour.conversations.service import ENDED, PARTICIPANT_JOINED
from parlour.core.domain_events import DomainEvent, DomainHooks
from parlour.core.uow import UnitOfWork
from parlour.jobs import Backoff, JobContext, JobRegistry, PermanentFailure, RetryAfter
from parlour.models.ai import AiStatus
from parlour.models.conversation import ParticipantRole

MAX_ATTEMPTS = 4
BACKOFF = Backoff(base_seconds=15, max_seconds=600)


def _raise_for(exc: ProviderError, ctx: JobContext) -> None:
    """Fail the attempt the way the provider's error calls for."""
    if exc.permanent:
        raise PermanentFailure(str(exc)) from exc
    if exc.retry_after is not None:
        raise RetryAfter(str(exc), seconds=exc.retry_after) from exc
    raise exc


def _final(exc: ProviderError, ctx: JobContext) -> bool:
    return exc.permanent or ctx.last_attempt


async def summarise(ctx: JobContext) -> None:
    tenant_id = ctx.principal.tenant_id
    conversation_id = str(ctx.payload["conversation_id"])
    request_id = str(ctx.payload.get("request_id", ""))
    settings, secret = ctx.runtime.settings, ctx.runtime.secret_key
    async with ctx.uow(write=False) as tx:
        work = await ai.summary_work(
            tx, conversation_id, tenant_id, request_id, settings=settings, server_secret=secret
        )
    if work is None:
        return  # nothing pending (a concurrent attempt recorded it)
    provider = work.ai.provider
    body: str | None
    try:
        if work.turns:
            body = await provider.summarise(work.turns, work.previous)
        else:  # nothing said yet, or nothing since the last summary
            body = work.previous.body if work.previous else None
    except ProviderError as exc:
        async with ctx.uow() as tx:
            await ai.do_record_summary_failure(
                tx,
                conversation_id,
                tenant_id,
                request_id,
                error=str(exc),
                attempt=ctx.attempt,
                final=_final(exc, ctx),
            )
        _raise_for(exc, ctx)
        return
    async with ctx.uow() as tx:
        await ai.do_record_summary(
            tx,
            conversation_id,
            tenant_id,
            request_id,
            body=body,
            provider=provider.name,
            model=provider.model,
            covers_seq=work.covers_seq,
        )


async def analyse(ctx: JobContext) -> None:
    tenant_id = ctx.principal.tenant_id
    ids = [str(i) for i in ctx.payload.get("message_ids", [])]
    settings, secret = ctx.runtime.settings, ctx.runtime.secret_key
    async with ctx.uow(write=False) as tx:
        tenant, pending = await ai.analysis_work(
            tx, tenant_id, ids, settings=settings, server_secret=secret
        )
    provider, region = tenant.provider, tenant.settings.ai_phone_region
    outcomes: list[ai.Outcome] = []
    failure: ProviderError | None = None
    for message in pending:
        if not tenant.settings.ai_enabled or not message.text.strip():
            outcomes.append(ai.Outcome(message, AiStatus.skipped))
            continue
        findings = pii.detect(message.original, region=region)
        try:
            analysis = await provider.analyse(message.text, region=region)
        except ProviderError as exc:
            failure = failure or exc
            status = AiStatus.failed if _final(exc, ctx) else AiStatus.pending
            outcomes.append(ai.Outcome(message, status, findings=findings, error=str(exc)))
            continue
        outcomes.append(ai.Outcome(message, AiStatus.processed, analysis, findings))
    async with ctx.uow() as tx:
        await ai.do_record_analyses(
            tx,
            tenant_id,
            outcomes,
            provider=provider.name,
            model=provider.model,
            attempt=ctx.attempt,
        )
    if failure is not None:
        _raise_for(failure, ctx)


def register_with(registry: JobRegistry) -> None:
    """Run the AI jobs on this node (the runtime registers them on its own registry)."""
    for kind, handler in ((SUMMARISE_JOB, summarise), (ANALYSE_JOB, analyse)):
        registry.register(
            kind, handler, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF, timeout_seconds=300
        )


def install(hooks: DomainHooks, uow: Callable[..., UnitOfWork]) -> None:
    """Queue a summary when an agent takes a conversation over and when it ends."""

    async def on_joined(event: DomainEvent) -> None:
        if event.data.get("role") != ParticipantRole.agent:
            return
        async with uow() as tx:
            await ai.do_request_summary_for(
                tx, str(event.data["conversation_id"]), event.tenant_id, reason=ai.HANDOVER
            )

    async def on_ended(event: DomainEvent) -> None:
        async with uow() as tx:
            await ai.do_request_summary_for(
                tx, str(event.data["conversation_id"]), event.tenant_id, reason=ai.ENDED
            )

    hooks.on(PARTICIPANT_JOINED, on_joined)
    hooks.on(ENDED, on_ended)
