"""Trimming what a reply quotes: the conversation already holds the earlier messages.

Cut at the first line that starts a quoted block or a signature: "On <date>, <name> wrote:"
(also wrapped over two lines, and a few other languages), Outlook's "-----Original
Message-----" and its "From: / Sent:" header block, a line of underscores before one, and the
signature separator "-- ". Lines starting with ">" are dropped wherever they are. When trimming
would leave nothing (a message that is all quote), the text is kept as it came.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,300}\bwrote|le\b.{0,300}\ba écrit|am\b.{0,300}\bschrieb"
    r"|el\b.{0,300}\bescribió|il\b.{0,300}\bha scritto|op\b.{0,300}\bschreef)\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATORS = (
    re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^-- $"),
    re.compile(r"^\s*begin forwarded message:\s*$", re.IGNORECASE),
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?from:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(sent|date|to|subject):\*?\s", re.IGNORECASE)


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _ATTRIBUTION.match(line) or any(s.match(line) for s in _SEPARATORS):
        return True
    following = lines[i + 1] if i + 1 < len(lines) else ""
    # "On Tue, 1 Dec 2026 at 10:00, Ann <ann@example.com>" / "wrote:" wrapped by the client.
    if line.strip() and _ATTRIBUTION.match(f"{line.rstrip()} {following.strip()}"):
        return line.lstrip().lower()[:3] in {"on ", "le ", "am ", "el ", "il ", "op "}
    # Outlook: "From: Ann" followed by "Sent:" / "Date:" (within the next two lines).
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 3])
    return False


def trim_quoted(text: str) -> str:
    """The new part of a reply: quoted blocks, attributions and the signature cut off."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _starts_quote(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    trimmed = "\n".join(kept).strip()
    trimmed = re.sub(r"\n{3,}", "\n\n", trimmed)
    return trimmed or text.strip()
