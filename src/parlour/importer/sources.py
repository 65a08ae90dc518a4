"""Where the data comes from: a PostgreSQL database (the Supabase project's, by URL) or a folder
of CSV exports (one `<table>.csv` per table, as the Supabase dashboard exports them; the
`auth.users` table as `auth.users.csv` or `auth_users.csv`). Both hand out rows as dicts, in
the order asked for, streamed from PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from parlour.importer import values

Row = dict[str, Any]
_NAME = re.compile(r"^(?:[a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")


class SourceError(Exception):
    """The source cannot be read (unreachable, not a folder); the message says why."""


class Source(Protocol):
    description: str

    async def has_table(self, table: str) -> bool: ...

    async def columns(self, table: str) -> set[str]: ...

    async def count(self, table: str) -> int: ...

    def rows(self, table: str, order_by: Sequence[str] = ()) -> AsyncIterator[Row]: ...

    async def close(self) -> None: ...


def _check_name(table: str) -> str:
    if not _NAME.match(table):
        raise SourceError(f"not a table name: {table!r}")
    return table


class PostgresSource:
    """A PostgreSQL database read with asyncpg: `schema.table` or a `public` table."""

    def __init__(self, conn: Any, description: str) -> None:
        self._conn = conn
        self.description = description

    @classmethod
    async def connect(cls, url: str) -> PostgresSource:
        import asyncpg  # type: ignore[import-untyped]

        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise SourceError(f"cannot connect to the source database: {exc}") from None
        host = dsn.split("@")[-1]  # never the password
        return cls(conn, f"postgresql://…@{host}")

    @staticmethod
    def _split(table: str) -> tuple[str, str]:
        schema, _, name = _check_name(table).rpartition(".")
        return schema or "public", name

    async def columns(self, table: str) -> set[str]:
        schema, name = self._split(table)
        rows = await self._conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2",
            schema,
            name,
        )
        return {r["column_name"] for r in rows}

    async def has_table(self, table: str) -> bool:
        return bool(await self.columns(table))

    def _quoted(self, table: str) -> str:
        schema, name = self._split(table)
        return f'"{schema}"."{name}"'

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f"SELECT count(*) FROM {self._quoted(table)}"))

    async def rows(self, table: str, order_by: Sequence[str] = ()) -> AsyncIterator[Row]:
        known = await self.columns(table)
        order = ", ".join(f'"{c}"' for c in order_by if c in known)
        sql = f"SELECT * FROM {self._quoted(table)}" + (f" ORDER BY {order}" if order else "")
        # A cursor streams the table (a transaction holds it open) instead of loading it all.
        async with self._conn.transaction(readonly=True):
            async for record in self._conn.cursor(sql, prefetch=500):
                yield {k: str(v) if isinstance(v, UUID) else v for k, v in record.items()}

    async def close(self) -> None:
        await self._conn.close()


class CsvSource:
    """A folder of CSV exports with a header row; empty cells are NULL."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise SourceError(f"not a folder of CSV exports: {folder}")
        self._folder = folder
        self.description = str(folder)

    def _path(self, table: str) -> Path | None:
        _check_name(table)
        for name in (f"{table}.csv", f"{table.replace('.', '_')}.csv"):
            if (self._folder / name).is_file():
                return self._folder / name
        return None

    def _read(self, table: str) -> list[Row]:
        path = self._path(table)
        if path is None:
            return []
        csv.field_size_limit(sys.maxsize)
        try:
            return list(csv.DictReader(io.StringIO(_text(path), newline="")))
        except csv.Error as exc:
            raise SourceError(f"{path.name} is not readable CSV: {exc}") from None

    async def has_table(self, table: str) -> bool:
        return self._path(table) is not None

    async def columns(self, table: str) -> set[str]:
        path = self._path(table)
        if path is None:
            return set()
        try:
            return set(next(csv.reader(io.StringIO(_text(path), newline="")), []))
        except csv.Error as exc:
            raise SourceError(f"{path.name} is not readable CSV: {exc}") from None

    async def count(self, table: str) -> int:
        return len(self._read(table))

    async def rows(self, table: str, order_by: Sequence[str] = ()) -> AsyncIterator[Row]:
        rows = self._read(table)
        if order_by:
            rows.sort(key=lambda row: tuple(_sort_key(row, c) for c in order_by))
        for row in rows:
            yield row

    async def close(self) -> None:
        return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{path.name} is not UTF-8 text (export it as UTF-8)") from None


def _sort_key(row: Row, column: str) -> tuple[int, Any]:
    """Text as PostgreSQL would order the typed column: timestamps as instants, numbers as
    numbers; NULLs last (PostgreSQL's ascending order)."""
    raw = row.get(column)
    if raw is None or raw == "":
        return (3, "")
    if raw.lstrip("-").isdigit():
        return (0, int(raw))
    try:
        instant = values.moment(row, column)
    except values.BadValue:
        return (2, raw)
    return (1, instant)


async def open_source(spec: str) -> Source:
    """A `postgresql://` URL or a folder of CSV files."""
    if spec.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        return await PostgresSource.connect(spec)
    return CsvSource(Path(spec))
