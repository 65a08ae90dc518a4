"""The local provider's summary: the few sentences that carry a conversation, picked by simple
features and kept in their original order.

A support conversation has a shape: the customer states a problem (usually in the first
message), says what they tried, and staff answer with a diagnosis and a promise or an outcome
(a refund, a booking, a fix). Each sentence is scored on

- who said it (the customer's own words state the problem best),
- cue words of each part (problem, tried, outcome),
- its overlap with the customer's first message (what the conversation is about),
- its position (the opening states the problem, the last staff messages the outcome),

and the summary takes the best sentence of each part, then the next best overall, up to
`MAX_SENTENCES`. Deterministic: the same turns give the same summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CUSTOMER = "customer"
STAFF = "staff"
MAX_SENTENCES = 5
MAX_SENTENCE_CHARS = 300

# A sentence ends at . ! ? before a space and a capital (or a line break), except after a
# title ("Dr.") or inside a number ("19.99").
_BOUNDARY = re.compile(r"(?<=[.!?])(?<!\b(?:Dr|Mr|Ms|St|Mt)\.)(?<!\bMrs\.)\s+(?=[A-Z0-9\"'(])|\n+")
_WORD = re.compile(r"[a-z0-9']+")
_PROBLEM = re.compile(
    r"\b(problem|issue|doesn'?t work|does not work|not working|isn'?t working|error|broken"
    r"|fail\w*|can'?t|cannot|won'?t|stopped|noise|grind\w*|leak\w*|wrong|charged twice"
    r"|double charged?|missing|late|crash\w*|need to|want to|would like to|help)\b",
    re.I,
)
_TRIED = re.compile(
    r"\b(tried|trying|restart\w*|reinstall\w*|reset|already|checked|replaced|cleared"
    r"|rebooted|updated|turned (it )?off)\b",
    re.I,
)
_OUTCOME = re.compile(
    r"\b(will|we'?ll|i'?ll|refund\w*|booked|book you|scheduled|rescheduled|moved|appointment"
    r"|fixed|resolved|replac\w*|sent|confirm\w*|ticket|credit\w*|arranged|see you"
    r"|recommend\w*|diagnos\w*|worn|needs?|cause[ds]?|due to|within|tomorrow|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday)\b",
    re.I,
)
_SMALL_TALK = re.compile(
    r"^(hi|hello|hey|thanks?|thank you|ok(ay)?|great|perfect|bye|good (morning|afternoon|evening)"
    r"|you'?re welcome|no problem|sure)\b[\s,!.]*\w{0,12}[\s!.]*$",
    re.I,
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "my",
        "your",
        "our",
        "i",
        "you",
        "we",
        "it",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "this",
        "that",
        "these",
        "those",
        "me",
        "us",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "not",
        "no",
        "so",
        "just",
        "can",
        "could",
        "would",
        "please",
        "there",
        "here",
        "what",
        "when",
        "how",
        "from",
        "about",
        "as",
        "by",
    ]
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One message: its seq, who wrote it (CUSTOMER or STAFF) and its text."""

    seq: int
    author: str
    text: str


@dataclass(slots=True)
class _Sentence:
    order: int
    turn_index: int
    author: str
    text: str
    problem: float = 0.0
    tried: float = 0.0
    outcome: float = 0.0
    base: float = 0.0


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def split_sentences(text: str) -> list[str]:
    """The sentences of a message (on ., !, ? and line breaks), trimmed, empty ones dropped."""
    return [s.strip() for s in _BOUNDARY.split(text) if s and s.strip()]


def _sentences(turns: list[Turn]) -> list[_Sentence]:
    found: list[_Sentence] = []
    for index, turn in enumerate(turns):
        for text in split_sentences(turn.text):
            words = _WORD.findall(text.lower())
            if len(words) < 4 or _SMALL_TALK.match(text):
                continue
            found.append(_Sentence(len(found), index, turn.author, text[:MAX_SENTENCE_CHARS]))
    return found


def _score(sentences: list[_Sentence], turns: list[Turn]) -> None:
    first_customer = next((t for t in turns if t.author == CUSTOMER), None)
    topic = _content_words(first_customer.text) if first_customer else set()
    last_turn = len(turns) - 1
    for s in sentences:
        words = _content_words(s.text)
        overlap = len(words & topic) / (len(words) or 1)
        late = s.turn_index / last_turn if last_turn > 0 else 0.0
        customer = s.author == CUSTOMER
        opening = first_customer is not None and turns[s.turn_index] is first_customer
        s.base = overlap + (0.3 if customer else 0.1)
        cues = len(_PROBLEM.findall(s.text))
        s.problem = (cues + overlap) * (1.5 if customer else 0.4) + (0.5 if opening else 0.0)
        s.problem *= 1.0 - 0.5 * late
        s.tried = len(_TRIED.findall(s.text)) * (1.2 if customer else 0.6)
        # Outcomes are promised by staff, late in the conversation.
        s.outcome = len(_OUTCOME.findall(s.text)) * (1.2 if not customer else 0.5) * (0.5 + late)


def summarise(turns: list[Turn], *, max_sentences: int = MAX_SENTENCES) -> str:
    """The conversation's summary: the problem, what was tried, the outcome, in order ("" when
    there is nothing to summarise)."""
    turns = [t for t in turns if t.text.strip()]
    sentences = _sentences(turns)
    if not sentences:
        return ""
    _score(sentences, turns)
    chosen: dict[int, _Sentence] = {}
    # The best sentence of each part; two for the outcome (a diagnosis and what was agreed).
    for part, count in (("problem", 1), ("tried", 1), ("outcome", 2)):
        ranked = sorted(sentences, key=lambda s, p=part: (-getattr(s, p), s.order))  # type: ignore[misc]
        for best in [s for s in ranked if getattr(s, part) > 0][:count]:
            chosen.setdefault(best.order, best)
    rest = sorted(
        (s for s in sentences if s.order not in chosen),
        key=lambda s: (-(s.base + s.problem + s.tried + s.outcome), s.order),
    )
    for s in rest:
        if len(chosen) >= max_sentences:
            break
        if s.problem + s.tried + s.outcome > 2.0:
            chosen[s.order] = s
    lines = []
    for s in sorted(chosen.values(), key=lambda s: s.order):
        who = "Customer" if s.author == CUSTOMER else "Staff"
        lines.append(f"{who}: {s.text}")
    return "\n".join(lines)
