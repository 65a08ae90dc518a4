"""Settings: environment, .env, generated secret key, defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from parlour.config import Settings


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    first = settings.resolved_secret_key()
    assert len(first) >= 48
    assert settings.resolved_secret_key() == first
    path = tmp_path / "data" / "secret_key"
    assert path.read_text() == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    given = "g" * 32
    assert (
        Settings(_env_file=None, data_dir=tmp_path / "data", secret_key=given).resolved_secret_key()  # type: ignore[call-arg]
        == given
    )


def test_secret_key_file_is_0600_from_its_first_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no umask to help and no chmod afterwards, the file is still created 0600: there is
    no moment when another user could read it."""
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    old = os.umask(0)
    try:
        key = Settings(_env_file=None, data_dir=tmp_path / "d").resolved_secret_key()  # type: ignore[call-arg]
    finally:
        os.umask(old)
    path = tmp_path / "d" / "secret_key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert path.read_text() == key


def test_a_concurrent_creator_s_key_is_read_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("k" * 64)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.resolved_secret_key() == "k" * 64
    assert (tmp_path / "secret_key").read_text() == "k" * 64


def test_many_processes_starting_at_once_share_one_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from parlour.config import Settings; "
        "print(Settings(_env_file=None, data_dir=Path(sys.argv[1])).resolved_secret_key())"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "shared")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert keys == {(tmp_path / "shared" / "secret_key").read_text()}


@pytest.mark.parametrize("key", ["given", "x" * 31, "é" * 15])
def test_a_short_secret_key_is_refused_at_start(key: str) -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(_env_file=None, secret_key=key)  # type: ignore[call-arg]


def test_the_test_secret_is_long_enough() -> None:
    from tests.conftest import TEST_SECRET

    assert len(TEST_SECRET.encode()) >= 32


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
    ("origin", "scheme", "allowed"),
    [
        ("http://chat.example:8000", "http", True),
        ("http://chat.example:8000", "ws", True),
        ("HTTP://Chat.Example:8000", "http", True),
        ("https://chat.example:8000", "https", True),
        ("https://chat.example:8000", "wss", True),
        # Another scheme is another origin, both ways.
        ("https://chat.example:8000", "http", False),
        ("http://chat.example:8000", "https", False),
        ("http://chat.example:8000", "wss", False),
        ("https://a.example", "http", True),
        ("https://a.example/", "http", True),
        ("http://a.example", "https", False),
        ("http://evil.example", "http", False),
        ("null", "http", False),
        ("chat.example:8000", "http", False),
        ("ftp://chat.example:8000", "http", False),
        ("http://chat.example:8000.evil.example", "http", False),
        ("http://user@chat.example:8000", "http", False),
    ],
)
def test_origin_check_compares_scheme_and_host(origin: str, scheme: str, allowed: bool) -> None:
    settings = Settings(_env_file=None, allowed_origins=["https://a.example"])  # type: ignore[call-arg]
    assert settings.origin_allowed(origin, scheme=scheme, host="chat.example:8000") is allowed


@pytest.mark.parametrize(
    ("origin", "scheme", "host", "allowed"),
    [
        ("https://chat.example", "https", "chat.example:443", True),
        ("http://chat.example", "http", "chat.example:80", True),
        ("http://chat.example:443", "https", "chat.example", False),
        ("http://[::1]:8000", "http", "[::1]:8000", True),
        ("http://[::1]", "http", "[::1]:80", True),
    ],
)
def test_origin_check_ignores_default_ports(
    origin: str, scheme: str, host: str, allowed: bool
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.origin_allowed(origin, scheme=scheme, host=host) is allowed


def test_trusted_proxies_are_networks_checked_at_start() -> None:
    settings = Settings(_env_file=None, trusted_proxies="10.0.0.0/8, 192.168.1.7,::1")  # type: ignore[call-arg]
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.7", "::1"]
    with pytest.raises(ValidationError, match="not an IP address"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8,proxy.internal")  # type: ignore[call-arg]


def test_a_short_cron_secret_is_refused() -> None:
    # The cron endpoint's only credential: a guessable one is refused at start.
    with pytest.raises(ValidationError, match="PARLOUR_CRON_SECRET"):
        Settings(_env_file=None, cron_secret="short")  # type: ignore[call-arg]
    ok = Settings(_env_file=None, cron_secret="x" * 32)  # type: ignore[call-arg]
    assert ok.cron_secret == "x" * 32
