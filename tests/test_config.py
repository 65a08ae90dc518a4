"""Settings: environment, .env, generated secret key, defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parlour.config import Settings


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    first = settings.resolved_secret_key()
    assert len(first) >= 48
    assert settings.resolved_secret_key() == first
    path = tmp_path / "data" / "secret_key"
    assert path.read_text() == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert (
        Settings(
            _env_file=None, data_dir=tmp_path / "data", secret_key="given"
        ).resolved_secret_key()
        == "given"
    )  # type: ignore[call-arg]


def test_environment_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("PARLOUR_")]:
        monkeypatch.delenv(key)  # `make test` exports PARLOUR_HOST and PARLOUR_PORT
    env_file = tmp_path / ".env"
    env_file.write_text(
        "PARLOUR_PORT=9123\nPARLOUR_ALLOWED_ORIGINS=https://a.example, https://b.example\n"
    )
    monkeypatch.setenv("PARLOUR_HOST", "0.0.0.0")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.port == 9123
    assert settings.host == "0.0.0.0"
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


def test_default_database_is_sqlite_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("PARLOUR_")]:
        monkeypatch.delenv(key)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert (
        settings.resolved_database_url() == f"sqlite+aiosqlite:///{tmp_path.as_posix()}/parlour.db"
    )
    assert settings.max_message_chars == 4000


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://chat.example:8000", True),
        ("https://chat.example:8000", True),
        ("https://a.example", True),
        ("http://evil.example", False),
        ("null", False),
        ("http://chat.example:8000.evil.example", False),
    ],
)
def test_origin_check(origin: str, allowed: bool) -> None:
    settings = Settings(_env_file=None, allowed_origins=["https://a.example"])  # type: ignore[call-arg]
    assert settings.origin_allowed(origin, host="chat.example:8000") is allowed
