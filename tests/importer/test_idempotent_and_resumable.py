"""Running an import again imports nothing twice; a run stopped after its first committed batch
continues where it stopped; a dry run writes nothing; CSV exports of the same tables import
exactly as the database does, and their bad rows are reported, never a crash."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from parlour.runtime import Runtime
from tests.importer.support import SYSTEMS, export_csv, reasons, row_counts, run, snapshot


class Stop(Exception):
    """Stands for the process dying after its first committed batch."""


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_second_run_imports_nothing_twice(
    runtime: Runtime, sources: dict[str, str], system: str
) -> None:
    first = await run(runtime, sources[system])
    counts = await row_counts(runtime)
    before = await snapshot(runtime, "imported")
    assert first.conversations.imported > 0 and first.messages.imported > 0

    again = await run(runtime, sources[system])

    assert await row_counts(runtime) == counts
    assert await snapshot(runtime, "imported") == before
    assert (again.people.imported, again.conversations.imported, again.messages.imported) == (
        0,
        0,
        0,
    )
    assert again.people.already == first.people.imported + first.people.linked
    assert again.conversations.already == first.conversations.imported
    assert again.messages.already == first.messages.imported
    # Bad rows stay bad: reported again, the same way.
    assert reasons(again) == reasons(first)


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_run_stopped_after_its_first_batch_resumes_to_the_same_result(
    runtime: Runtime, sources: dict[str, str], system: str
) -> None:
    committed: list[int] = []

    def die_after_first_batch(n: int) -> None:
        committed.append(n)
        raise Stop

    with pytest.raises(Stop):
        await run(runtime, sources[system], batch_size=2, progress=die_after_first_batch)
    partial = await row_counts(runtime)
    assert committed == [2]
    assert 0 < partial["import_keys"] < 10  # the first batch (and only it) was kept

    resumed = await run(runtime, sources[system], batch_size=2)
    assert resumed.people.already == 2  # what the stopped run committed is not redone

    # The same as one uninterrupted run into another tenant: nothing missing, nothing twice,
    # messages numbered 1, 2, 3 ... in time order.
    await run(runtime, sources[system], tenant="clean")
    assert await snapshot(runtime, "imported") == await snapshot(runtime, "clean")
    for conversation in await snapshot(runtime, "imported"):
        messages = conversation[11]
        assert isinstance(messages, list)
        assert [m[0] for m in messages] == list(range(1, len(messages) + 1))
        assert [m[4] for m in messages] == sorted(m[4] for m in messages)


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_dry_run_counts_exactly_and_writes_nothing(
    runtime: Runtime, sources: dict[str, str], system: str
) -> None:
    before = await row_counts(runtime)
    dry = await run(runtime, sources[system], dry_run=True, batch_size=3)
    assert await row_counts(runtime) == before

    real = await run(runtime, sources[system], batch_size=3)
    assert (dry.people, dry.conversations, dry.messages) == (
        real.people,
        real.conversations,
        real.messages,
    )
    assert reasons(dry) == reasons(real)
    assert dry.dry_run and not real.dry_run


@pytest.mark.parametrize("system", SYSTEMS)
async def test_csv_exports_import_like_the_database(
    runtime: Runtime, sources: dict[str, str], system: str, tmp_path: Path
) -> None:
    folder = await export_csv(sources[system], tmp_path / "export")

    from_csv = await run(runtime, str(folder), tenant="from-csv")
    from_db = await run(runtime, sources[system], tenant="from-db")

    assert await snapshot(runtime, "from-csv") == await snapshot(runtime, "from-db")
    assert reasons(from_csv) == reasons(from_db)
    again = await run(runtime, str(folder), tenant="from-csv")
    assert again.messages.imported == 0 and again.messages.already == from_csv.messages.imported


def _append_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open(newline="") as file:
        header = next(csv.reader(file))
    with path.open("a", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})


async def test_bad_csv_rows_are_reported_and_the_rest_imported(
    runtime: Runtime, sources: dict[str, str], tmp_path: Path
) -> None:
    folder = await export_csv(sources["sessions"], tmp_path / "export")
    _append_rows(
        folder / "sessions.csv",
        [
            {
                "id": "bad-time",
                "created_at": "last tuesday",
                "type": "chat",
                "plan": "chat10",
                "status": "completed",
            },
            {
                "id": "bad-type",
                "created_at": "2025-10-30 10:00:00+00",
                "type": "phone",
                "plan": "x",
                "status": "completed",
            },
            {
                "id": "",
                "created_at": "2025-10-30 10:00:00+00",
                "type": "chat",
                "plan": "x",
                "status": "completed",
            },
        ],
    )
    _append_rows(
        folder / "chat_messages.csv",
        [
            {
                "id": "m-no-session",
                "session_id": "",
                "sender_id": "x",
                "content": "hi",
                "created_at": "2025-10-30 10:00:00+00",
            },
            {
                "id": "m-nul",
                "session_id": "5e000000-0000-4000-8000-000000000001",
                "sender_id": "a1000000-0000-4000-8000-000000000001",
                "content": "binary\x00junk",
                "created_at": "2025-10-19 10:30:00+00",
            },
            {
                "id": "m-bad-time",
                "session_id": "5e000000-0000-4000-8000-000000000001",
                "sender_id": "a1000000-0000-4000-8000-000000000001",
                "content": "hi",
                "created_at": "2025-13-45 99:00",
            },
        ],
    )

    report = await run(runtime, str(folder))

    skipped = reasons(report)
    assert skipped[("sessions", "bad-time")] == "created_at is not a timestamp: 'last tuesday'"
    assert skipped[("sessions", "bad-type")].startswith("unknown type 'phone'")
    assert skipped[("sessions", "")] == "id is empty"
    assert skipped[("chat_messages", "m-no-session")] == "session_id is empty"
    assert "is not a timestamp" in skipped[("chat_messages", "m-bad-time")]
    assert skipped[("chat_messages", "m-nul")] == "content contains a NUL character"
    assert (report.conversations.imported, report.messages.imported) == (3, 7)


@pytest.mark.parametrize("system", ["web_chat", "sessions"])
async def test_two_imports_racing_into_one_tenant_import_everything_once(
    runtime: Runtime, sources: dict[str, str], system: str
) -> None:
    """Two runs at once (two operators, or a retry started while the first still runs), in
    small batches so they interleave: the tenant's row lock makes them take turns, and each
    source row is imported by exactly one of them."""
    first, second = await asyncio.gather(
        run(runtime, sources[system], batch_size=2),
        run(runtime, sources[system], batch_size=2),
    )
    await run(runtime, sources[system], tenant="clean")
    assert await snapshot(runtime, "imported") == await snapshot(runtime, "clean")
    for stage in ("people", "conversations", "messages"):
        a, b = getattr(first, stage), getattr(second, stage)
        total = a.imported + b.imported + a.linked + b.linked
        assert total == a.imported + a.already + a.linked, stage  # each row once, overall
        assert a.skipped == b.skipped, stage


async def test_an_unreadable_csv_file_is_a_clear_error(
    runtime: Runtime, sources: dict[str, str], tmp_path: Path
) -> None:
    from parlour.importer.sources import SourceError

    folder = await export_csv(sources["sessions"], tmp_path / "export")
    (folder / "sessions.csv").write_bytes("id,type\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError, match=r"sessions\.csv is not UTF-8"):
        await run(runtime, str(folder))
    assert (await row_counts(runtime))["conversations"] == 0
