"""Highlighted snippets: a window of a message around its first match, HTML-safe.

The text is escaped first and only then are matches wrapped in `<mark>…</mark>`, piece by
piece, so a message body can never smuggle markup into a results page: the only tags in a
snippet are the marks made here. The same code serves both backends, so snippets do not
depend on which database found the message.
"""

from __future__ import annotations

from html import escape

from parlour.search.query import WORD, SearchQuery

# Words shown before the first match, and the most words in a snippet.
LEAD_WORDS = 6
WINDOW_WORDS = 30
ELLIPSIS = "…"


def _matcher(query: SearchQuery) -> tuple[set[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for term in query.terms:
        *head, last = (w.casefold() for w in term.words)
        exact.update(head)
        if term.prefix:
            prefixes.append(last)
        else:
            exact.add(last)
    return exact, tuple(prefixes)


def highlight(text: str, query: SearchQuery) -> str:
    """`text` cut to a window around its first matching word, escaped, matches in `<mark>`."""
    exact, prefixes = _matcher(query)
    words = list(WORD.finditer(text))
    hits = [
        i
        for i, w in enumerate(words)
        if (folded := w.group().casefold()) in exact or folded.startswith(prefixes or ("\0",))
    ]
    # From the start when the match is near it; else a few words before the match.
    first = hits[0] - LEAD_WORDS if hits and hits[0] >= WINDOW_WORDS // 2 else 0
    last = min(len(words), first + WINDOW_WORDS)
    if not words:
        return escape(text[:200])
    start = words[first].start() if first > 0 else 0
    end = words[last - 1].end() if last < len(words) else len(text)
    marked = set(hits)
    out = [ELLIPSIS] if start > 0 else []
    cursor = start
    for i in range(first, last):
        w = words[i]
        if i in marked:
            out.append(escape(text[cursor : w.start()]))
            out.append(f"<mark>{escape(w.group())}</mark>")
            cursor = w.end()
    out.append(escape(text[cursor:end]))
    if end < len(text):
        out.append(ELLIPSIS)
    return "".join(out)
