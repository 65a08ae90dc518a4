"""REST for transcripts (any reader) and the tenant export (admins, JSON Lines, streamed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from parlour.conversations.service import reading_may_write
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.transcripts import service
from parlour.transcripts.export import export_lines
from parlour.transcripts.formats import MEDIA_TYPES, Format, render

router = APIRouter(tags=["transcripts"])


def _moment(alias: str) -> object:
    return Query(
        alias=alias,
        min_length=10,
        max_length=40,
        pattern=r"^[0-9T:.+\-Z ]+$",
        description="A date (`2026-03-01`, midnight UTC) or an ISO 8601 time (no offset: UTC).",
    )


@router.get(
    "/conversations/{conversation_id}/transcript",
    responses={
        200: {
            "description": "The transcript in the requested format.",
            "content": {"text/plain": {}, "application/json": {}, "text/csv": {}},
        },
        **error_responses(400, 401, 403, 404, 409, 422),
    },
    response_class=Response,
)
async def download_transcript(
    conversation_id: ConversationIdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    format: Format = "txt",
) -> Response:
    """The whole conversation as text, JSON or CSV (seq, time in UTC, sender, kind, body,
    attachment names), for anyone who may read it. CSV cells that a spreadsheet would run as a
    formula are prefixed with `'`."""
    async with runtime.uow(write=reading_may_write(principal)) as tx:
        transcript = await service.transcript(tx, principal, conversation_id)
    return Response(
        render(transcript, format),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="conversation-{conversation_id}.{format}"'
        },
    )


@router.get(
    "/admin/export",
    responses={
        200: {
            "description": "One JSON object per line: a conversation with its participants "
            "and messages.",
            "content": {"application/x-ndjson": {}},
        },
        **error_responses(400, 401, 403, 422),
    },
    response_class=StreamingResponse,
)
async def export(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    start: Annotated[str, _moment("from")],
    end: Annotated[str, _moment("to")],
) -> StreamingResponse:
    """The tenant's conversations created in [`from`, `to`) as JSON Lines, oldest first,
    streamed (admins). `X-Export-Count` says how many conversations the range held when the
    export began."""
    first = service.parse_moment(start, name="from")
    last = service.parse_moment(end, name="to")
    # Refusals (not an admin, a bad range) are ordinary errors, before any byte is streamed.
    async with runtime.uow(write=False) as tx:
        count = await service.count_export(tx, principal, first, last)
    return StreamingResponse(
        export_lines(runtime.uow, principal, first, last),
        media_type="application/x-ndjson",
        headers={
            "X-Export-Count": str(count),
            "Content-Disposition": 'attachment; filename="conversations.jsonl"',
        },
    )
