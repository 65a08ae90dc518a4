"""Language detection with py3langid (a small bundled model: no download, no network)."""

from __future__ import annotations

import re

import py3langid

# Below this many letters a guess is noise ("ok", "thx", a number): no language is reported.
MIN_LETTERS = 12
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it is too short to tell."""
    if len(_LETTER.findall(text[:2000])) < MIN_LETTERS:
        return None
    code, _score = py3langid.classify(text[:2000])
    return str(code)
