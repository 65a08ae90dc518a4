"""The AI rules: who reads the context, which provider a tenant uses, and the records the jobs
keep (summaries, message analyses). Providers are called by the jobs (parlour.ai.jobs) and by
the suggestions edge, always outside any transaction; this module never calls one.

Who may: the AI context is for staff. Staff who may read the conversation (its agents, the
tenant's admins and service keys) read and refresh its summary, read its analyses, retry
failed ones and ask for suggestions. A customer gets 403 `staff_only` (the summary describes
them to staff and may name what staff promised before it was said); anyone else, another
tenant included, gets the conversation's 404 (checked first, so ids leak nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from parlour.ai import pii, repository
from parlour.ai.extractive import CUSTOMER, STAFF, Turn
from parlour.ai.kinds import ANALYSE_JOB, SUMMARISE_JOB
from parlour.ai.openai_provider import OpenAIConfig, OpenAIProvider
from parlour.ai.provider import LOCAL, Analysis, LocalProvider, PreviousSummary, Provider
from parlour.ai.schemas import AnalysisRead, PiiSpan, SummaryRead
from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant
from parlour.canned import service as canned
from parlour.config import Settings
from parlour.conversations import service as conversations
from parlour.conversations.access import access_conversation
from parlour.core.errors import Conflict, Forbidden, conversation_not_found
from parlour.core.events import Audience, Event
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.messages import service as messages
from parlour.models.ai import AiStatus, ConversationSummary, MessageAnalysis, SummaryStatus
from parlour.models.conversation import ParticipantRole
from parlour.models.tenant_settings import TenantSettings
from parlour.realtime.envelopes import encode
from parlour.tenants.schemas import SecretName
from parlour.tenants.service import get_secret

# Why a summary was asked for.
HANDOVER = "handover"
ENDED = "ended"
ON_DEMAND = "on_demand"
MAX_ERROR_CHARS = 500
# A refresh pending this long lost its job (a worker died during its last attempt): a new
# request queues it again instead of waiting forever.
STALE_PENDING = timedelta(minutes=30)


def _staff_only(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("The AI context is for staff.", code="staff_only")


async def _staff_reader(tx: UnitOfWork, principal: Principal, conversation_id: str) -> None:
    """Raise unless the caller is staff who may read the conversation: who may not read it
    learns nothing (404, as for a missing one); its customer gets 403."""
    await access_conversation(tx.session, principal, conversation_id)
    _staff_only(principal)


def _check_enabled(settings: TenantSettings) -> None:
    if not settings.ai_enabled:
        raise Conflict("AI processing is turned off for this tenant.", code="ai_disabled")


# --- providers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TenantAi:
    """A tenant's AI settings and its provider, resolved for one job or request."""

    settings: TenantSettings
    provider: Provider


async def tenant_ai(
    tx: UnitOfWork, tenant_id: str, *, settings: Settings, server_secret: str
) -> TenantAi:
    """The tenant's provider: its own choice, endpoint, model and key, else the server's."""
    typed = (await get_tenant(tx.session, tenant_id)).typed_settings
    name = typed.ai_provider or settings.ai_provider
    if name == LOCAL:
        return TenantAi(typed, LocalProvider())
    key = await get_secret(
        tx.session, tenant_id, SecretName.ai_api_key, server_secret=server_secret
    )
    config = OpenAIConfig(
        base_url=typed.ai_base_url or settings.ai_base_url,
        model=typed.ai_model or settings.ai_model,
        api_key=key or settings.ai_api_key,
        timeout_seconds=settings.ai_timeout_seconds,
        max_input_tokens=settings.ai_max_input_tokens,
        mask=typed.ai_mask_outbound_pii,
        region=typed.ai_phone_region,
    )
    return TenantAi(typed, OpenAIProvider(config))


def _turns(rows: list[tuple[int, str, str | None]]) -> list[Turn]:
    return [
        Turn(seq, CUSTOMER if role == ParticipantRole.customer else STAFF, body)
        for seq, body, role in rows
    ]


# --- live events -----------------------------------------------------------------------------


async def _emit_to_staff(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, frame: dict[str, Any]
) -> None:
    """Tell the conversation's staff readers: its current agents and the tenant's admins (and
    keys). Never the conversation's audience: its customer is subscribed there."""
    payload = encode(frame)
    agents = await conversations.current_agent_ids(tx, conversation_id, tenant_id)
    audiences = [Audience.tenant_admins(tenant_id)] + [Audience.user(u) for u in agents]
    for audience in audiences:
        tx.emit(
            Event(
                audience=audience,
                type=str(frame["type"]),
                payload=payload,
                conversation_id=conversation_id,
            )
        )


# --- summaries -------------------------------------------------------------------------------


def _summary_read(conversation_id: str, row: ConversationSummary | None) -> SummaryRead:
    if row is None:
        return SummaryRead(conversation_id=conversation_id, status="none")
    return SummaryRead.model_validate(row)


async def get_summary(tx: UnitOfWork, principal: Principal, conversation_id: str) -> SummaryRead:
    """The conversation's context summary (staff readers)."""
    await _staff_reader(tx, principal, conversation_id)
    return _summary_read(conversation_id, await repository.get_summary(tx.session, conversation_id))


async def do_request_summary(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> SummaryRead:
    """Queue a refresh of the conversation's summary (staff readers). A refresh already
    queued is not queued twice: the answer is its pending state."""
    await _staff_reader(tx, principal, conversation_id)
    _check_enabled((await get_tenant(tx.session, principal.tenant_id)).typed_settings)
    row = await _request(tx, conversation_id, principal.tenant_id, reason=ON_DEMAND)
    return _summary_read(conversation_id, row)


async def do_request_summary_for(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, *, reason: str
) -> None:
    """Queue a refresh after a handover or an end (the hooks, as the system): nothing when
    the tenant turned AI off or the conversation is gone."""
    if not (await get_tenant(tx.session, tenant_id)).typed_settings.ai_enabled:
        return
    await _request(tx, conversation_id, tenant_id, reason=reason)


async def _request(
    tx: UnitOfWork, conversation_id: str, tenant_id: str, *, reason: str
) -> ConversationSummary | None:
    # Lock order: the conversation, then its summary row (a first request creates it).
    if await conversations.lock_conversation(tx, conversation_id, tenant_id) is None:
        raise conversation_not_found()
    row = await repository.get_summary(tx.session, conversation_id, lock=True)
    if (
        row is not None
        and row.status == SummaryStatus.pending
        and tx.now - row.requested_at < STALE_PENDING
    ):
        return row  # already queued: its job will read the newest messages
    if row is None:
        row = ConversationSummary(
            conversation_id=conversation_id, tenant_id=tenant_id, covers_seq=0, attempts=0
        )
        tx.session.add(row)
    row.status = SummaryStatus.pending
    row.requested_at = tx.now
    row.reason = reason
    row.request_id = new_id()
    row.error = None
    row.attempts = 0
    await tx.session.flush()
    await tx.enqueue(
        SUMMARISE_JOB,
        {"conversation_id": conversation_id, "request_id": row.request_id},
        key=row.request_id,
        tenant_id=tenant_id,
    )
    return row


@dataclass(frozen=True, slots=True)
class SummaryWork:
    """What a summary job sends to its provider."""

    ai: TenantAi
    turns: list[Turn]
    previous: PreviousSummary | None
    covers_seq: int


async def summary_work(
    tx: UnitOfWork,
    conversation_id: str,
    tenant_id: str,
    request_id: str,
    *,
    settings: Settings,
    server_secret: str,
) -> SummaryWork | None:
    """The input of a queued refresh (None when nothing is pending any more). An incremental
    provider continues from the last good summary with the messages after it; the local one
    reads the whole conversation."""
    row = await repository.get_summary(tx.session, conversation_id)
    if not _is_pending(row, tenant_id, request_id):
        return None
    assert row is not None
    ai = await tenant_ai(tx, tenant_id, settings=settings, server_secret=server_secret)
    previous = None
    # Continue only from a summary this provider and model wrote (a tenant that switched
    # providers gets a fresh one).
    same = (row.provider, row.model) == (ai.provider.name, ai.provider.model)
    if ai.provider.incremental and same and row.body and row.covers_seq > 0:
        previous = PreviousSummary(row.body, row.covers_seq)
    after = previous.covers_seq if previous else 0
    turns = _turns(await messages.text_history(tx, conversation_id, tenant_id, after_seq=after))
    covers = turns[-1].seq if turns else row.covers_seq
    return SummaryWork(ai, turns, previous, covers)


def _is_pending(row: ConversationSummary | None, tenant_id: str, request_id: str) -> bool:
    """Whether `row` still waits for the refresh `request_id` (not done, not replaced)."""
    return (
        row is not None
        and row.tenant_id == tenant_id
        and row.status == SummaryStatus.pending
        and row.request_id == request_id
    )


async def do_record_summary(
    tx: UnitOfWork,
    conversation_id: str,
    tenant_id: str,
    request_id: str,
    *,
    body: str | None,
    provider: str,
    model: str | None,
    covers_seq: int,
) -> None:
    """Store a summary the provider made (None: nothing to summarise yet) and tell the
    conversation's staff."""
    row = await repository.get_summary(tx.session, conversation_id, lock=True)
    if not _is_pending(row, tenant_id, request_id):
        return  # re-checked under the lock: another attempt recorded it, or a newer request
    assert row is not None
    row.status = SummaryStatus.ready
    row.body = body
    row.provider = provider
    row.model = model
    row.covers_seq = covers_seq
    row.created_at = tx.now
    row.error = None
    await tx.session.flush()
    await _emit_summary(tx, row)


async def do_record_summary_failure(
    tx: UnitOfWork,
    conversation_id: str,
    tenant_id: str,
    request_id: str,
    *,
    error: str,
    attempt: int,
    final: bool,
) -> None:
    """Record a failed attempt: the status stays `pending` while the job retries, and becomes
    `failed` when it gives up. The last good summary stays."""
    row = await repository.get_summary(tx.session, conversation_id, lock=True)
    if not _is_pending(row, tenant_id, request_id):
        return
    assert row is not None
    row.error = error[:MAX_ERROR_CHARS]
    row.attempts = attempt
    if final:
        row.status = SummaryStatus.failed
    await tx.session.flush()
    await _emit_summary(tx, row)


async def _emit_summary(tx: UnitOfWork, row: ConversationSummary) -> None:
    read = _summary_read(row.conversation_id, row)
    frame = {
        "type": "ai_summary",
        "conversation_id": row.conversation_id,
        "summary": read.model_dump(mode="json"),
    }
    await _emit_to_staff(tx, row.conversation_id, row.tenant_id, frame)


# --- message analyses ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingMessage:
    id: str
    conversation_id: str
    seq: int
    # What the provider is given: the stored text (masked where the tenant masks).
    text: str
    # What personal data is looked for in: the sender's own words (never sent anywhere).
    original: str


async def analysis_work(
    tx: UnitOfWork, tenant_id: str, ids: list[str], *, settings: Settings, server_secret: str
) -> tuple[TenantAi, list[PendingMessage]]:
    """The tenant's provider and those of the messages that still wait for their analysis."""
    ai = await tenant_ai(tx, tenant_id, settings=settings, server_secret=server_secret)
    found = await messages.messages_by_ids(tx, tenant_id, ids)
    pending = [
        PendingMessage(m.id, m.conversation_id, m.seq, m.body, m.body_original or m.body)
        for m in found
        if m.ai_status == AiStatus.pending
    ]
    return ai, pending


@dataclass(frozen=True, slots=True)
class Outcome:
    """One message's analysis, or why it failed (`error`), or that it was skipped."""

    message: PendingMessage
    status: str
    analysis: Analysis | None = None
    findings: list[pii.Finding] | None = None
    error: str | None = None


async def do_record_analyses(
    tx: UnitOfWork,
    tenant_id: str,
    outcomes: list[Outcome],
    *,
    provider: str,
    model: str | None,
    attempt: int,
) -> None:
    """Store each message's outcome (its analysis row and the message's `ai_status`) and tell
    the conversation's staff. A message no longer pending (a concurrent attempt recorded it)
    is left alone."""
    ids = [o.message.id for o in outcomes]
    current = {m.id: m.ai_status for m in await messages.messages_by_ids(tx, tenant_id, ids)}
    existing = await repository.analyses(tx.session, ids, lock=True)
    by_status: dict[str, list[str]] = {}
    for o in outcomes:
        if current.get(o.message.id) != AiStatus.pending:
            continue
        row = existing.get(o.message.id)
        if row is None:
            row = MessageAnalysis(
                message_id=o.message.id,
                tenant_id=tenant_id,
                conversation_id=o.message.conversation_id,
                seq=o.message.seq,
                pii_kinds=[],
                pii_spans=[],
                attempts=0,
            )
            tx.session.add(row)
        row.status = o.status
        row.attempts = attempt
        row.provider = provider
        row.model = model
        row.updated_at = tx.now
        row.error = o.error[:MAX_ERROR_CHARS] if o.error else None
        if o.analysis is not None:
            row.language = o.analysis.language
            row.intent = o.analysis.intent
        if o.findings is not None:
            row.pii_kinds = sorted({f.kind for f in o.findings})
            row.pii_spans = [{"kind": f.kind, "start": f.start, "end": f.end} for f in o.findings]
        by_status.setdefault(o.status, []).append(o.message.id)
        await tx.session.flush()
        frame = {
            "type": "ai_analysis",
            "conversation_id": row.conversation_id,
            "analysis": _analysis_read(row).model_dump(mode="json"),
        }
        await _emit_to_staff(tx, row.conversation_id, tenant_id, frame)
    for status, message_ids in by_status.items():
        if status != AiStatus.pending:
            await messages.do_set_ai_status(tx, tenant_id, message_ids, status)


def _analysis_read(row: MessageAnalysis) -> AnalysisRead:
    return AnalysisRead(
        message_id=row.message_id,
        seq=row.seq,
        status=row.status,
        language=row.language,
        pii_kinds=list(row.pii_kinds or []),
        pii_spans=[PiiSpan(**s) for s in row.pii_spans or []],
        intent=row.intent,
        provider=row.provider,
        model=row.model,
        error=row.error,
        updated_at=row.updated_at,
    )


async def list_analyses(
    tx: UnitOfWork, principal: Principal, conversation_id: str
) -> list[AnalysisRead]:
    """The analyses of a conversation's inbound messages, in seq order (staff readers)."""
    await _staff_reader(tx, principal, conversation_id)
    return [_analysis_read(a) for a in await repository.analyses_of(tx.session, conversation_id)]


async def do_retry_analyses(tx: UnitOfWork, principal: Principal, conversation_id: str) -> int:
    """Queue the conversation's failed analyses again (staff readers); how many."""
    await _staff_reader(tx, principal, conversation_id)
    _check_enabled((await get_tenant(tx.session, principal.tenant_id)).typed_settings)
    await conversations.lock_conversation(tx, conversation_id, principal.tenant_id)
    failed = await repository.analyses_of(tx.session, conversation_id, status=AiStatus.failed)
    locked = await repository.analyses(tx.session, [a.message_id for a in failed], lock=True)
    ids = [i for i, a in locked.items() if a.status == AiStatus.failed]  # re-checked under lock
    if not ids:
        return 0
    for message_id in ids:
        locked[message_id].status = AiStatus.pending
        locked[message_id].updated_at = tx.now
    await messages.do_set_ai_status(tx, principal.tenant_id, ids, AiStatus.pending)
    await tx.enqueue(ANALYSE_JOB, {"message_ids": ids}, key=new_id(), tenant_id=principal.tenant_id)
    return len(ids)


# --- suggestions -----------------------------------------------------------------------------

MAX_SUGGESTION_TURNS = 40


@dataclass(frozen=True, slots=True)
class SuggestionWork:
    ai: TenantAi
    turns: list[Turn]
    canned: list[str]


async def suggestion_work(
    tx: UnitOfWork,
    principal: Principal,
    conversation_id: str,
    *,
    settings: Settings,
    server_secret: str,
) -> SuggestionWork:
    """What a suggestion request sends (staff readers): the newest messages and the tenant's
    canned responses."""
    await _staff_reader(tx, principal, conversation_id)
    ai = await tenant_ai(tx, principal.tenant_id, settings=settings, server_secret=server_secret)
    _check_enabled(ai.settings)
    if ai.provider.name == LOCAL:
        raise Conflict(
            "Suggested replies need the openai provider; this tenant uses the local one.",
            code="ai_suggestions_unavailable",
        )
    rows = await messages.text_history(tx, conversation_id, principal.tenant_id)
    saved = [f"{c.title}: {c.body}" for c in await canned.list_canned(tx, principal)]
    return SuggestionWork(ai, _turns(rows[-MAX_SUGGESTION_TURNS:]), saved)
