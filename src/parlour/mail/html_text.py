"""HTML mail bodies turned into plain text with the standard library's parser.

Nothing is ever rendered: the markup is read, its text kept, scripts, styles and the document's
head dropped, entities decoded, and quoted blocks (`<blockquote>`, Gmail's `gmail_quote`) left
out, since the conversation already holds what they quote.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never text for a reader.
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
# Elements that end a line of text.
_BLOCKS = frozenset(
    {
        "p", "div", "br", "li", "tr", "table", "ul", "ol", "section", "article", "header",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "dd", "dt",
    }
)  # fmt: skip
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # Open elements whose content is dropped (a stack, so nesting closes correctly).
        self._dropping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._dropping:
            if tag not in _VOID:
                self._dropping.append(tag)
            return
        classes = next((v or "" for k, v in attrs if k == "class"), "")
        if tag in _SKIPPED or tag == "blockquote" or any(q in classes for q in _QUOTE_CLASSES):
            if tag not in _VOID:
                self._dropping.append(tag)
            return
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._dropping and tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            # Close up to the matching open tag (browsers forgive unclosed inner tags).
            if tag in self._dropping:
                while self._dropping and self._dropping.pop() != tag:
                    pass
            return
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: one line per block (empty ones dropped), runs of
    spaces collapsed."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)
