"""A transcript as text, JSON or CSV.

CSV cells are neutralised against formula injection: a spreadsheet runs a cell that starts with
`=`, `+`, `-` or `@` (and tab or carriage return, which some read past) as a formula, so such a
cell gets a leading `'` (OWASP's advice), which spreadsheets show as text. A spreadsheet that
splits on `;` (or on tabs and line breaks inside a cell) starts a new cell after each of them,
so a formula character there (after optional spaces) gets its `'` too, as does one after
leading spaces (some importers trim them). The text and JSON forms keep the bodies exactly as
written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Literal

from parlour.transcripts.schemas import Transcript, TranscriptLine

Format = Literal["txt", "json", "csv"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A formula character at the start after spaces, or after a separator some importers split on.
_LEADING_FORMULA = re.compile(r"^[ \t\r\n]*[=+\-@]")
# The `'` goes right before the formula character, so whatever the importer splits or trims,
# the cell it makes starts with the `'`.
_FORMULA_AFTER_SEPARATOR = re.compile(r"([;\t\r\n][ \t\r\n]*)([=+\-@])")
CSV_COLUMNS = ["seq", "time", "sender", "kind", "body", "attachments"]
MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    cell = _FORMULA_AFTER_SEPARATOR.sub(r"\1'\2", cell)
    starts_formula = cell.startswith(FORMULA_STARTS) or _LEADING_FORMULA.match(cell)
    return "'" + cell if starts_formula else cell


def _csv_row(line: TranscriptLine) -> list[str]:
    cells = [
        str(line.seq),
        line.time,
        line.sender,
        line.kind,
        line.body,
        "; ".join(line.attachments),
    ]
    return [neutralise(c) for c in cells]


def to_csv(transcript: Transcript) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in transcript.messages:
        writer.writerow(_csv_row(line))
    return out.getvalue()


def to_json(transcript: Transcript) -> str:
    return json.dumps(transcript.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


def to_text(transcript: Transcript) -> str:
    c = transcript.conversation
    head = [
        f"Conversation {c.id}" + (f": {c.subject}" if c.subject else ""),
        f"Kind: {c.kind} · Status: {c.status}" + (f" ({c.end_reason})" if c.end_reason else ""),
        f"Started: {iso_utc(c.created_at)}"
        + (f" · Ended: {iso_utc(c.ended_at)}" if c.ended_at else ""),
        "Participants: " + ", ".join(f"{p.display_name} ({p.role})" for p in c.participants),
        "",
    ]
    lines = []
    for m in transcript.messages:
        who = "*" if m.kind == "system" else f"{m.sender}:"
        text = m.body.replace("\r\n", "\n").replace("\n", "\n    ")
        files = f" [attachments: {', '.join(m.attachments)}]" if m.attachments else ""
        lines.append(f"[{m.time}] #{m.seq} {who} {text}{files}")
    return "\n".join(head + lines) + "\n"


def render(transcript: Transcript, fmt: Format) -> str:
    if fmt == "csv":
        return to_csv(transcript)
    if fmt == "json":
        return to_json(transcript)
    return to_text(transcript)
