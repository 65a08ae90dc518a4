"""PARLOUR_SQLITE_SYNCHRONOUS: what an `ack` promises on SQLite (FULL by default)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from parlour.config import Settings
from parlour.core.db import create_engine
from parlour.runtime import build_runtime
from tests.conftest import TEST_SECRET

LEVELS = {"FULL": 2, "NORMAL": 1}


async def _synchronous(url: str, **options: str) -> int:
    engine = create_engine(url, **options)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("PRAGMA synchronous"))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("level", ["FULL", "NORMAL"])
async def test_a_connection_reports_the_configured_level(tmp_path: Path, level: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    assert await _synchronous(url, sqlite_synchronous=level) == LEVELS[level]


async def test_the_runtime_passes_the_setting_and_full_is_the_default(tmp_path: Path) -> None:
    def settings(**extra: str) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            secret_key=TEST_SECRET,
            **extra,  # type: ignore[arg-type]
        )

    assert settings().sqlite_synchronous == "FULL"
    for given, expected in (("normal", 1), ("FULL", 2)):
        runtime = build_runtime(settings(sqlite_synchronous=given))
        try:
            async with runtime.engine.connect() as conn:
                assert (await conn.execute(text("PRAGMA synchronous"))).scalar_one() == expected
        finally:
            await runtime.engine.dispose()


def test_any_other_level_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    for bad in ("OFF", "EXTRA", "2", ""):
        with pytest.raises(
            ValidationError, match="PARLOUR_SQLITE_SYNCHRONOUS must be FULL or NORMAL"
        ):
            Settings(_env_file=None, sqlite_synchronous=bad)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", sqlite_synchronous="OFF")
    # At start-up: the server refuses to run and says why.
    env = {**os.environ, "PARLOUR_SQLITE_SYNCHRONOUS": "OFF", "PARLOUR_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "parlour.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PARLOUR_SQLITE_SYNCHRONOUS must be FULL or NORMAL, not 'OFF'" in done.stderr
