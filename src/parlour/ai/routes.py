"""REST for the AI context: summaries, message analyses and suggested replies (staff)."""

from __future__ import annotations

from fastapi import APIRouter, status

from parlour.ai import service
from parlour.ai.provider import ProviderError, SuggestionsUnsupported
from parlour.ai.schemas import AnalysisList, RetryResult, Suggestions, SummaryRead
from parlour.core.errors import Conflict, Unavailable
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/conversations", tags=["ai"])

ERRORS = error_responses(400, 401, 403, 404, 409, 422)


@router.get("/{conversation_id}/summary", response_model=SummaryRead, responses=ERRORS)
async def get_summary(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> SummaryRead:
    """The conversation's context summary for staff: its text, status (`none`, `pending`,
    `ready`, `failed`), provider, model, when it was made and the last `seq` it covers."""
    async with runtime.uow(write=False) as tx:
        return await service.get_summary(tx, principal, conversation_id)


@router.post(
    "/{conversation_id}/summary",
    response_model=SummaryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
)
async def refresh_summary(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> SummaryRead:
    """Queue a refresh of the summary (staff readers). The answer is `pending`; a live
    `ai_summary` event tells the conversation's staff when the new one lands."""
    async with runtime.uow() as tx:
        return await service.do_request_summary(tx, principal, conversation_id)


@router.get("/{conversation_id}/analysis", response_model=AnalysisList, responses=ERRORS)
async def list_analyses(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> AnalysisList:
    """What the AI found in each customer message: language, personal data (kinds and spans),
    intent, and the status (staff readers)."""
    async with runtime.uow(write=False) as tx:
        return AnalysisList(analyses=await service.list_analyses(tx, principal, conversation_id))


@router.post("/{conversation_id}/analysis/retry", response_model=RetryResult, responses=ERRORS)
async def retry_analyses(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> RetryResult:
    """Queue the conversation's failed message analyses again (staff readers)."""
    async with runtime.uow() as tx:
        return RetryResult(queued=await service.do_retry_analyses(tx, principal, conversation_id))


@router.post(
    "/{conversation_id}/suggestions",
    response_model=Suggestions,
    responses=error_responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def suggest_replies(
    conversation_id: ConversationIdPath, principal: PrincipalDep, runtime: RuntimeDep
) -> Suggestions:
    """Three short replies the agent may send next, from the conversation and the tenant's
    canned responses (staff readers; the `openai` provider only, else 409
    `ai_suggestions_unavailable`). Nothing is sent: the agent picks one and sends it."""
    settings = runtime.settings
    async with runtime.uow(write=False) as tx:
        work = await service.suggestion_work(
            tx,
            principal,
            conversation_id,
            settings=settings,
            server_secret=runtime.secret_key,
        )
    who = principal.user_id or principal.api_key_id or ""
    await runtime.limiter.hit(f"ai-suggest:{who}", limit=settings.ai_suggest_rate_per_minute)
    provider = work.ai.provider
    # Interactive and stored nowhere: called in the request (outside any transaction), not
    # through a job; a failure is the agent's to retry with a click.
    try:
        replies = await provider.suggest(work.turns, work.canned)
    except SuggestionsUnsupported as exc:
        raise Conflict(
            "This provider does not suggest replies.", code="ai_suggestions_unavailable"
        ) from exc
    except ProviderError as exc:
        raise Unavailable(f"The AI provider failed: {exc}", code="ai_provider_failed") from exc
    return Suggestions(suggestions=replies, provider=provider.name, model=provider.model)
