"""CSV cells are neutralised wherever a spreadsheet could start a cell: at the start (also after
spaces) and after a `;`, tab, carriage return or line feed inside the cell."""

from __future__ import annotations

import re

import pytest

from parlour.transcripts.formats import neutralise

# What an importer that splits on `;`, tabs or line breaks (and trims spaces) makes of a cell.
SPLIT = re.compile(r"[;\t\r\n]")


def cells_seen(cell: str) -> list[str]:
    return [part.strip(" ") for part in SPLIT.split(cell)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("fine", "fine"),
        ("a; b\tc", "a; b\tc"),
        ("=1+1", "'=1+1"),
        ("  =1+1", "'  =1+1"),
        ('hello;=HYPERLINK("http://evil")', 'hello;\'=HYPERLINK("http://evil")'),
        ("hello; +1+1", "hello; '+1+1"),
        ("a\t-2", "a\t'-2"),
        ("a\r\n@SUM(A1)", "a\r\n'@SUM(A1)"),
        ("a\n  \t=cmd", "a\n  \t'=cmd"),
        ("\t=x", "'\t'=x"),
        ("x;;=1", "x;;'=1"),
        ("a - b; c", "a - b; c"),  # a dash inside a cell's text is harmless
    ],
)
def test_a_formula_character_after_a_separator_is_neutralised(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


@pytest.mark.parametrize(
    "cell",
    [
        'note;=HYPERLINK("http://evil","x")',
        "one\n+cmd|' /C calc'!A0",
        "one\r\n -1",
        "one\t@SUM(A1)",
        "  ;  ;\t=1",
        "=1;=2\t=3\n=4",
    ],
)
def test_no_split_of_a_neutralised_cell_starts_a_formula(cell: str) -> None:
    for part in cells_seen(neutralise(cell)):
        assert not part.startswith(("=", "+", "-", "@")), (cell, part)
