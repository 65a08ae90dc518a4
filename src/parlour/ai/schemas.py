"""AI wire schemas."""

from __future__ import annotations

from datetime import datetime

from parlour.core.schemas import OutputModel


class SummaryRead(OutputModel):
    conversation_id: str
    # pending (a refresh is queued or running), ready, failed (the last refresh gave up), or
    # none (never summarised).
    status: str
    # The last good summary (kept while a refresh is pending or after one failed).
    body: str | None = None
    provider: str | None = None
    model: str | None = None
    covers_seq: int = 0
    created_at: datetime | None = None
    requested_at: datetime | None = None
    reason: str | None = None
    error: str | None = None


class PiiSpan(OutputModel):
    kind: str
    start: int
    end: int


class AnalysisRead(OutputModel):
    message_id: str
    seq: int
    status: str
    language: str | None = None
    pii_kinds: list[str] = []
    pii_spans: list[PiiSpan] = []
    intent: str | None = None
    provider: str | None = None
    model: str | None = None
    error: str | None = None
    updated_at: datetime


class AnalysisList(OutputModel):
    analyses: list[AnalysisRead]


class RetryResult(OutputModel):
    # How many failed analyses were queued again.
    queued: int


class Suggestions(OutputModel):
    suggestions: list[str]
    provider: str
    model: str | None = None
