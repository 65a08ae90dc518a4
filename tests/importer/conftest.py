"""Source databases for the import tests: one per guide, built once per run on the test
PostgreSQL server (the source is always PostgreSQL, like a Supabase project; the target is
each of Parlour's databases through `db_url`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL, require_service
from tests.importer.support import SYSTEMS, build_source, drop_source


@pytest.fixture(scope="session")
def sources() -> Iterator[dict[str, str]]:
    built: dict[str, str] = {}
    try:
        for system in SYSTEMS:
            built[system] = asyncio.run(build_source(system))
    except OSError as exc:
        require_service(False, f"PostgreSQL is not reachable at {PG_URL}: {exc!r}")
    yield built
    for url in built.values():
        asyncio.run(drop_source(url))
