"""PARLOUR_DB_POOL_SIZE and PARLOUR_DB_MAX_OVERFLOW reach the PostgreSQL engine's pool
(docs/operations.md sizes them against max_connections); nonsense is refused at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parlour.config import Settings
from parlour.runtime import build_runtime
from tests.conftest import PG_URL, TEST_SECRET


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, secret_key=TEST_SECRET, **values)  # type: ignore[call-arg]


async def test_the_pool_settings_size_the_postgresql_pool() -> None:
    runtime = build_runtime(_settings(database_url=PG_URL, db_pool_size=3, db_max_overflow=2))
    try:
        pool = runtime.engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 2  # type: ignore[attr-defined]
    finally:
        await runtime.engine.dispose()


def test_the_defaults_and_what_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (_settings().db_pool_size, _settings().db_max_overflow) == (10, 10)
    monkeypatch.setenv("PARLOUR_DB_POOL_SIZE", "25")
    assert _settings().db_pool_size == 25
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv("PARLOUR_DB_POOL_SIZE", bad)
        with pytest.raises(ValidationError, match="db_pool_size"):
            _settings()
