"""The local provider's intent label: a few keyword rules, first match wins.

It labels the common reasons a customer writes (a refund, a booking, a technical problem, a
bill) and says nothing (None) otherwise; a model behind the OpenAI provider labels more.
"""

from __future__ import annotations

import re

INTENTS = ("refund", "cancellation", "booking", "technical_issue", "billing", "complaint")

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("refund", re.compile(r"\b(refund|money back|charged twice|double charged?)\b", re.I)),
    ("cancellation", re.compile(r"\b(cancel(l?ed|l?ing)?|unsubscribe)\b", re.I)),
    (
        "booking",
        re.compile(r"\b(book(ing)?|appointment|reschedul\w*|availab\w*|slot)\b", re.I),
    ),
    (
        "technical_issue",
        re.compile(
            r"\b(error|crash\w*|broken|not working|doesn'?t work|does not work|won'?t start"
            r"|noise|leak\w*|fault\w*|bug)\b",
            re.I,
        ),
    ),
    ("billing", re.compile(r"\b(invoice|bill(ing)?|charge[ds]?|payment|receipt)\b", re.I)),
    ("complaint", re.compile(r"\b(unacceptable|disappointed|terrible|complain\w*)\b", re.I)),
]


def classify_intent(text: str) -> str | None:
    """One of INTENTS, or None when no rule matches."""
    for label, pattern in _RULES:
        if pattern.search(text):
            return label
    return None
