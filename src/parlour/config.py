"""The one Settings object. No other module reads the environment."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Parlour's configuration, read from `PARLOUR_*` variables and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="PARLOUR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Origins allowed to open the realtime WebSocket with cookie auth (and for CORS later).
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    token_ttl_seconds: int = 60 * 60 * 12
    cookie_secure: bool = False
    max_message_chars: int = 4000
    max_request_bytes: int = 256 * 1024
    # Realtime gateway limits.
    ws_queue_size: int = 1000
    ws_max_frame_bytes: int = 64 * 1024
    ws_max_inflight_sends: int = 64
    # The longest a WebSocket close may take before a stuck socket is abandoned.
    ws_close_timeout_seconds: float = 10.0
    # Group commit: the most sends one transaction takes.
    write_batch_max: int = 256
    # Sends (and read pointers) waiting for the writer; a full queue answers 503 unavailable.
    write_queue_max: int = Field(default=10_000, ge=1)
    # How long a send waits for its commit before the sender hears 503 unavailable.
    send_timeout_seconds: float = Field(default=10.0, gt=0)
    # On shutdown, how long the writers may take to finish what is queued.
    write_drain_seconds: float = Field(default=5.0, ge=0)
    # FULL: an ack survives a power loss (one fsync per committed batch); NORMAL: it survives
    # a crash of the process, and a power loss may drop the last transactions.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    # Rate limits (per key per minute).
    login_rate_per_minute: int = 20
    guest_rate_per_minute: int = 30
    send_rate_per_minute: int = 600
    # Durable jobs (docs/architecture/jobs.md): run a worker on this node, how many jobs it runs
    # at once, how long a claim holds before another worker may take the job over, how often it
    # looks for due jobs, and how long stopping waits for running jobs before putting them back.
    job_worker: bool = True
    job_concurrency: int = Field(default=4, ge=1, le=256)
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    job_shutdown_seconds: float = Field(default=10.0, ge=0)
    # The deadline sweep: seconds between in-process passes (0 turns the loop off, e.g. when an
    # external cron runs `parlour close-expired`), and the most items one pass takes per deadline.
    sweep_interval_seconds: float = Field(default=5.0, ge=0)
    sweep_batch_size: int = Field(default=100, ge=1, le=10_000)
    # Bearer secret for POST /api/v1/cron/close-expired; empty turns the endpoint off (401).
    cron_secret: str = ""
    # WebSocket `read` and `typing` frames per user (typing over the limit is dropped).
    read_rate_per_minute: int = 600
    typing_rate_per_minute: int = 120
    # Check the schema is current at start-up (tests that build it themselves may turn it off).
    check_schema_on_start: bool = True
    log_level: str = "info"

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _check_synchronous(cls, value: object) -> object:
        level = value.strip().upper() if isinstance(value, str) else value
        if level not in ("FULL", "NORMAL"):
            raise ValueError(f"PARLOUR_SQLITE_SYNCHRONOUS must be FULL or NORMAL, not {value!r}")
        return level

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'parlour.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The signing key: given, or generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    def origin_allowed(self, origin: str, *, host: str) -> bool:
        """Whether a browser Origin may use cookie auth: our own host or a configured origin."""
        if origin.rstrip("/") in self.allowed_origins:
            return True
        scheme, _, netloc = origin.partition("://")
        return scheme in ("http", "https") and netloc == host
