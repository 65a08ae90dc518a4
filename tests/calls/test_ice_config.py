"""video: STUN/TURN configuration: PARLOUR_ICE_SERVERS is checked at start, and
PARLOUR_TURN_SECRET gives each party time-limited TURN credentials (coturn's use-auth-secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from parlour.calls.service import IceConfig, turn_credentials
from parlour.config import Settings
from parlour.core.ice import IceServer


def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]


def test_no_servers_by_default(tmp_path: Path) -> None:
    assert settings(tmp_path).ice_servers == []


def test_servers_are_read_from_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PARLOUR_ICE_SERVERS",
        '[{"urls": "stun:stun.example.org:3478"},'
        ' {"urls": ["turn:t.example.org:3478", "turns:t.example.org:443?transport=tcp"],'
        '  "username": "u", "credential": "p"}]',
    )
    servers = settings(tmp_path).ice_servers
    assert servers == [
        IceServer(urls=["stun:stun.example.org:3478"]),
        IceServer(
            urls=["turn:t.example.org:3478", "turns:t.example.org:443?transport=tcp"],
            username="u",
            credential="p",
        ),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"urls": "stun:x"}',  # not a list
        '[{"urls": "http://x"}]',  # not an ICE URL
        '[{"urls": []}]',
        '[{"url": "stun:x"}]',  # a typo of a key
    ],
)
def test_a_malformed_value_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PARLOUR_ICE_SERVERS", value)
    with pytest.raises(ValidationError):
        settings(tmp_path)


def test_turn_urls_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLOUR_TURN_URLS", "turn:t.example.org:3478, turns:t.example.org:443")
    assert settings(tmp_path).turn_urls == ["turn:t.example.org:3478", "turns:t.example.org:443"]
    monkeypatch.setenv("PARLOUR_TURN_URLS", "https://t.example.org")
    with pytest.raises(ValidationError):
        settings(tmp_path)


def test_turn_credentials_follow_the_turn_rest_scheme() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    config = IceConfig(
        servers=[], turn_secret="shared", turn_urls=["turn:t.example.org"], turn_ttl_seconds=600
    )
    server = turn_credentials(config, "user1", now)
    assert server is not None
    expiry = int(now.timestamp()) + 600
    assert server.username == f"{expiry}:user1"
    expected = hmac.new(b"shared", server.username.encode(), hashlib.sha1).digest()
    assert server.credential == base64.b64encode(expected).decode()
    assert turn_credentials(IceConfig(servers=[], turn_secret="shared"), "u", now) is None
    assert turn_credentials(IceConfig(servers=[], turn_urls=["turn:x"]), "u", now) is None
