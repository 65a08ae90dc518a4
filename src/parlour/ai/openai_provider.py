"""An OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, ...) over httpx.

Every text is masked (parlour.ai.pii) before it leaves unless the tenant turned masking off.
Timeouts, 429s and 5xx answers are `ProviderError`s the jobs retry (a 429's Retry-After is
honoured when it is sane); a refused request (401, 400, ...) or an answer that is not what was
asked for is permanent: it is never stored as a summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from parlour.ai import pii
from parlour.ai.extractive import CUSTOMER, Turn
from parlour.ai.intent import INTENTS
from parlour.ai.provider import (
    OPENAI,
    Analysis,
    GarbageAnswer,
    PreviousSummary,
    ProviderError,
    analyse_locally,
)

# A Retry-After longer than this is not believed (the job's own backoff applies instead).
MAX_RETRY_AFTER_SECONDS = 600.0
MAX_SUMMARY_CHARS = 2000
MAX_SUGGESTION_CHARS = 500
# About four characters a token for English text: a budget, not a tokenizer.
CHARS_PER_TOKEN = 4

SUMMARY_PROMPT = (
    "You write the context summary a support agent reads before taking over a customer "
    "conversation. In at most five short sentences of plain text (no lists, no markdown), say "
    "the customer's problem, what was already tried, and what was promised or the outcome. "
    "Placeholders such as [card] or [phone] stand for removed personal data: keep them as they "
    "are."
)
INCREMENTAL_PROMPT = (
    " You are given the summary of the conversation so far and the messages that followed: "
    "answer with one updated summary of the whole conversation."
)
ANALYSIS_PROMPT = (
    "Label the intent of the customer's message. Answer with a JSON object only: "
    '{"intent": "<label>"} where <label> is one of: ' + ", ".join(INTENTS) + ", other."
)
SUGGEST_PROMPT = (
    "You help a support agent reply to a customer. Write three short, different replies the "
    "agent could send next (each at most two sentences), in the customer's language, using the "
    "tenant's saved replies where they fit. Answer with a JSON array of three strings only."
)


@dataclass(frozen=True, slots=True)
class OpenAIConfig:
    base_url: str
    model: str
    api_key: str
    timeout_seconds: float
    max_input_tokens: int
    mask: bool  # mask personal data before anything is sent
    region: str  # national phone formats to recognise when masking


def retry_after_seconds(value: str | None) -> float | None:
    """A 429's Retry-After (seconds or an HTTP date) when it is sane (0 to 10 minutes)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds or not 0 <= seconds <= MAX_RETRY_AFTER_SECONDS:  # NaN, past, absurd
        return None
    return seconds


class OpenAIProvider:
    name = OPENAI
    incremental = True

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self.model: str | None = config.model

    def _clean(self, text: str) -> str:
        return pii.mask(text, region=self.config.region) if self.config.mask else text

    def _render(self, turns: list[Turn]) -> list[str]:
        return [
            f"{'Customer' if t.author == CUSTOMER else 'Agent'}: {self._clean(t.text)}"
            for t in turns
        ]

    async def _complete(self, system: str, user: str, *, max_tokens: int) -> str:
        """One chat completion's text; ProviderError when the call or its answer fails."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0.2,
            "max_tokens": max_tokens,
        }
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_seconds) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"the AI provider timed out ({exc.__class__.__name__})") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"the AI provider is unreachable ({exc.__class__.__name__})"
            ) from exc
        if response.status_code == 429:
            raise ProviderError(
                "the AI provider is rate limiting us (429)",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code >= 500:
            raise ProviderError(f"the AI provider failed ({response.status_code})")
        if response.status_code >= 400:
            raise ProviderError(
                f"the AI provider refused the request ({response.status_code})", permanent=True
            )
        return _content(response)

    def _chunks(self, lines: list[str], reserved: int) -> list[list[str]]:
        """`lines` cut into parts that each fit the input budget (a line longer than the whole
        budget is cut short)."""
        budget = max(self.config.max_input_tokens * CHARS_PER_TOKEN - reserved, 200)
        parts: list[list[str]] = [[]]
        used = 0
        for line in lines:
            line = line[:budget]
            if parts[-1] and used + len(line) + 1 > budget:
                parts.append([])
                used = 0
            parts[-1].append(line)
            used += len(line) + 1
        return [p for p in parts if p]

    async def summarise(self, turns: list[Turn], previous: PreviousSummary | None) -> str:
        """Fold the conversation into the summary a part at a time: the previous summary plus
        as many new messages as the token budget holds, again until all are in."""
        summary = previous.body if previous else ""
        lines = self._render(turns)
        if not lines:
            if summary:
                return summary
            raise GarbageAnswer("nothing to summarise")
        for part in self._chunks(lines, reserved=MAX_SUMMARY_CHARS + len(SUMMARY_PROMPT) + 400):
            if summary:
                system = SUMMARY_PROMPT + INCREMENTAL_PROMPT
                user = f"Summary so far:\n{self._clean(summary)}\n\nNew messages:\n" + "\n".join(
                    part
                )
            else:
                system, user = SUMMARY_PROMPT, "Conversation:\n" + "\n".join(part)
            summary = _check_summary(await self._complete(system, user, max_tokens=400))
        return summary

    async def analyse(self, text: str, *, region: str) -> Analysis:
        local = analyse_locally(text, region=region)
        answer = await self._complete(
            ANALYSIS_PROMPT, self._clean(text)[: self.config.max_input_tokens * 4], max_tokens=30
        )
        parsed = _json(answer)
        intent = parsed.get("intent") if isinstance(parsed, dict) else None
        if not isinstance(intent, str) or intent not in (*INTENTS, "other"):
            raise GarbageAnswer("no intent label in the answer")
        return Analysis(
            language=local.language,
            findings=local.findings,
            intent=None if intent == "other" else intent,
        )

    async def suggest(self, turns: list[Turn], canned: list[str]) -> list[str]:
        lines = self._render(turns)
        saved = "\n".join(f"- {self._clean(c)}" for c in canned[:20])
        budget = self.config.max_input_tokens * CHARS_PER_TOKEN - len(saved) - 600
        recent: list[str] = []
        for line in reversed(lines):  # the newest messages that fit
            if sum(len(r) for r in recent) + len(line) > max(budget, 400):
                break
            recent.insert(0, line)
        user = f"Saved replies:\n{saved or '(none)'}\n\nConversation:\n" + "\n".join(recent)
        parsed = _json(await self._complete(SUGGEST_PROMPT, user, max_tokens=400))
        if isinstance(parsed, dict):
            parsed = parsed.get("suggestions")
        if not isinstance(parsed, list) or len(parsed) < 3:
            raise GarbageAnswer("not a list of three replies")
        replies = [s.strip() for s in parsed[:3] if isinstance(s, str) and s.strip()]
        if len(replies) != 3 or any(len(r) > MAX_SUGGESTION_CHARS for r in replies):
            raise GarbageAnswer("not three short replies")
        return replies


def _content(response: httpx.Response) -> str:
    """The first choice's message text of a chat-completions answer."""
    try:
        data: Any = response.json()
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GarbageAnswer("not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise GarbageAnswer("an empty message")
    return content.strip()


def _json(text: str) -> Any:
    """The JSON in an answer, allowing a ```json fence around it."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise GarbageAnswer("not JSON") from exc


def _check_summary(text: str) -> str:
    """`text` if it reads like a summary: some words of plain text, not too long, not JSON."""
    if len(text) > MAX_SUMMARY_CHARS:
        raise GarbageAnswer("a summary far longer than asked for")
    if text[:1] in "{[<" or sum(ch.isalpha() for ch in text) < 20 or len(text.split()) < 4:
        raise GarbageAnswer("not a summary")
    if any(ord(ch) < 32 and ch not in "\n\t\r" for ch in text):
        raise GarbageAnswer("control characters in the summary")
    return text
