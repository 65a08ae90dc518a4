"""The provider interface and the local provider.

A provider summarises a conversation, analyses a message and suggests replies. `local` does
it on this machine (extractive summary, keyword intent); `openai` asks an OpenAI-compatible
endpoint (parlour.ai.openai_provider). Language and personal data are always detected here,
whatever the provider: they decide what may leave the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from parlour.ai import pii
from parlour.ai.extractive import Turn, summarise
from parlour.ai.intent import classify_intent
from parlour.ai.language import detect_language

LOCAL = "local"
OPENAI = "openai"


class ProviderError(Exception):
    """The provider failed. `permanent`: retrying cannot help (a refused key, a garbage
    answer); `retry_after`: the provider asked us to wait this many seconds (429)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class GarbageAnswer(ProviderError):
    """The provider answered, but not with what was asked (never stored)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"unusable answer: {message}", permanent=True)


class SuggestionsUnsupported(Exception):
    """This provider does not write replies (the local one)."""


@dataclass(frozen=True, slots=True)
class PreviousSummary:
    """The summary an incremental refresh starts from, and the last seq it covers."""

    body: str
    covers_seq: int


@dataclass(frozen=True, slots=True)
class Analysis:
    language: str | None
    findings: list[pii.Finding] = field(default_factory=list)
    intent: str | None = None


class Provider(Protocol):
    name: str
    model: str | None
    # Whether `summarise` continues from a previous summary (then only the turns after it are
    # given) or reads the whole conversation every time.
    incremental: bool

    async def summarise(self, turns: list[Turn], previous: PreviousSummary | None) -> str:
        """The conversation's summary: `previous` (when given) covers what came before
        `turns`; the answer covers both."""
        ...

    async def analyse(self, text: str, *, region: str) -> Analysis: ...

    async def suggest(self, turns: list[Turn], canned: list[str]) -> list[str]: ...


def analyse_locally(text: str, *, region: str) -> Analysis:
    """Language, personal data and a keyword intent, computed here."""
    return Analysis(
        language=detect_language(text),
        findings=pii.detect(text, region=region),
        intent=classify_intent(text),
    )


class LocalProvider:
    """No network, no model download: deterministic and fast."""

    name = LOCAL
    model: str | None = None
    incremental = False

    async def summarise(self, turns: list[Turn], previous: PreviousSummary | None) -> str:
        # Cheap enough to read the whole conversation every time: `turns` are all of them.
        return summarise(turns)

    async def analyse(self, text: str, *, region: str) -> Analysis:
        return analyse_locally(text, region=region)

    async def suggest(self, turns: list[Turn], canned: list[str]) -> list[str]:
        raise SuggestionsUnsupported
