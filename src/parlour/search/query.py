"""What a user types into the search box, parsed into terms we control.

The syntax (docs/search.md): words, all of which must match (AND); `"quoted phrases"`; a
trailing `*` for a prefix (`refun*`). Everything else is text: FTS5 or tsquery operators
(`OR`, `NOT`, `NEAR`, `-`, `^`, `:`, parentheses, `&`, `|`, `!`, `<->`) are just words or
separators here. Words are runs of letters and digits, the way both indexes split text, so
`john@example.com` is the phrase "john example com" on either backend.

User input never reaches FTS5 or `to_tsquery` as syntax: the query strings are built from the
letter-and-digit tokens below, each quoted, so no input can make them fail to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from parlour.core.errors import BadRequest

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
MIN_PREFIX_CHARS = 2
# A word: letters and digits (the underscore is punctuation, as it is for both indexes).
WORD = re.compile(r"[^\W_]+")
# A quoted phrase (an unclosed quote runs to the end), or a run of anything but space/quote.
_CHUNK = re.compile(r'"([^"]*)"?|([^\s"]+)')


@dataclass(frozen=True, slots=True)
class Filters:
    """What narrows a search besides the words (all optional)."""

    channel: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Term:
    """Words that must appear next to each other, in order (one word for a plain term); with
    `prefix`, the last one may be the start of a longer word."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: tuple[Term, ...]

    def fts5(self) -> str:
        """The FTS5 MATCH expression: every term quoted, ANDed."""
        parts = []
        for term in self.terms:
            quoted = '"' + " ".join(term.words) + '"'
            parts.append(quoted + "*" if term.prefix else quoted)
        return " AND ".join(parts)

    def tsquery(self) -> str:
        """The `to_tsquery` text: quoted lexemes, `<->` for phrases, `:*` for a prefix, `&`."""
        parts = []
        for term in self.terms:
            lexemes = [f"'{w}'" for w in term.words]
            if term.prefix:
                lexemes[-1] += ":*"
            parts.append("(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0])
        return " & ".join(parts)


def words_of(text: str) -> list[str]:
    """The words of `text`, as the indexes see them."""
    return WORD.findall(text)


def parse_query(text: str) -> SearchQuery:
    """The terms of a search box's text, or BadRequest (stable codes) when it has none or is
    too big to be a reasonable search."""
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(
            f"A search is at most {MAX_QUERY_CHARS} characters.", code="query_too_long"
        )
    terms: list[Term] = []
    for match in _CHUNK.finditer(text):
        phrase, bare = match.group(1), match.group(2)
        if phrase is not None:
            words = tuple(words_of(phrase))
            prefix = False
        else:
            prefix = bare.endswith("*")
            words = tuple(words_of(bare))
        if not words:
            continue
        if prefix and len(words[-1]) < MIN_PREFIX_CHARS:
            raise BadRequest(
                f"A prefix search (word*) needs at least {MIN_PREFIX_CHARS} letters.",
                code="prefix_too_short",
            )
        terms.append(Term(words=words, prefix=prefix))
    if not terms:
        raise BadRequest("Type a word to search for.", code="empty_query")
    if len(terms) > MAX_TERMS or sum(len(t.words) for t in terms) > 2 * MAX_TERMS:
        raise BadRequest(f"A search has at most {MAX_TERMS} terms.", code="query_too_complex")
    return SearchQuery(terms=tuple(terms))
