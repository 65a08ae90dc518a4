"""The one Settings object. No other module reads the environment."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from parlour.core.ice import IceServer, parse_ice_servers
from parlour.core.origins import parse_origin as _origin
from parlour.core.proxies import parse_networks

MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    """Parlour's configuration, read from `PARLOUR_*` variables and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="PARLOUR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("data")
    database_url: str = ""
    # rls: on PostgreSQL the app connects (PARLOUR_DATABASE_URL) as a role that owns nothing
    # and cannot bypass row-level security; `parlour migrate` connects as the tables' owner
    # (this URL; empty: the app's URL) and grants the app role (this name) its privileges
    # (docs/row-level-security.md).
    migrate_database_url: str = ""  # rls:
    database_app_role: str = "parlour_app"  # rls:
    # Given (at least MIN_SECRET_KEY_BYTES), or generated into DATA_DIR/secret_key.
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Origins besides our own allowed to use the session cookie: cookie-authenticated writes
    # (CSRF) and the realtime WebSocket (and for CORS later).
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For / X-Forwarded-Proto are believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
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
    # video: WebRTC calls (docs/video-calls.md). STUN/TURN servers as a JSON list of
    # RTCIceServer objects (none by default: on one network host candidates suffice), handed
    # only to a call's two participants; signaling frames per user per minute; the largest SDP.
    ice_servers: Annotated[list[IceServer], NoDecode] = Field(default_factory=list)
    # video: TURN with time-limited credentials from a secret shared with the TURN server
    # (coturn's use-auth-secret): a fresh username/credential per call page, valid this long.
    turn_secret: str = ""
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_ttl_seconds: int = Field(default=6 * 3600, ge=60)
    signal_rate_per_minute: int = Field(default=300, ge=1)
    max_sdp_chars: int = Field(default=32_000, ge=1_000, le=60_000)
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
    login_rate_per_minute: int = 20  # per client address
    login_account_rate_per_minute: int = 20  # per tenant and email, from any address
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
    # Conversations a customer may open: per customer, and per client address.
    conversation_rate_per_minute: int = 10
    conversation_address_rate_per_minute: int = 30
    # Argon2 hashes running at once (each takes ~64 MiB and a core for tens of milliseconds).
    password_hash_concurrency: int = Field(default=2, ge=1)
    # Check the schema is current at start-up (tests that build it themselves may turn it off).
    check_schema_on_start: bool = True
    log_level: str = "info"
    # attachments: the largest file one upload may carry (a byte more is 413), the most pixels
    # an image may have (more is refused as a decompression bomb), and where the files live
    # (default DATA_DIR/attachments).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    attachment_max_image_pixels: int = Field(default=40_000_000, ge=1)
    attachment_dir: Path | None = None
    # fixdesk: uploads one user may make per minute, and the unsent uploads (not yet part of a
    # message) one user may hold at once, in files and in bytes (docs/attachments.md).
    upload_rate_per_minute: int = Field(default=30, ge=1)
    attachment_max_unsent_files: int = Field(default=20, ge=1)
    attachment_max_unsent_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    # The demo (PARLOUR_DEMO=1, set by `make run`): `parlour demo` may load its accounts with a
    # known password and the login page offers them. Never on in production.
    demo: bool = False
    # payments: the default tenant's Stripe keys (other tenants set theirs as tenant secrets;
    # a tenant's own secret wins), and the API base the stripe library talks to (a stand-in in
    # tests). No key: the built-in test provider (docs/payments.md).
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    # fixpay: the built-in test provider (free "payments") for a tenant without a Stripe key,
    # only when this is on or the server runs as the demo; otherwise such a tenant's checkout
    # answers 503 `payments_not_configured`. Never on in production. And how many checkouts
    # one user, and one client address, may start per minute.
    payments_test_provider: bool = False
    # twilio: the address the outside world reaches this server at ("https://chat.example.org",
    # no trailing slash), for webhook URLs given to providers and the URL Twilio signed (behind
    # a proxy the request's own URL differs). Empty: the request's own origin. And the base URL
    # of Twilio's REST API (a stand-in in tests), and how long one call to it may take.
    public_url: str = ""  # twilio:
    twilio_api_base: str = "https://api.twilio.com"  # twilio:
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)  # twilio:
    checkout_rate_per_minute: int = Field(default=10, ge=1)
    checkout_address_rate_per_minute: int = Field(default=30, ge=1)
    # redis: many nodes (docs/deploying.md "Many nodes"). A redis:// or rediss:// URL carries
    # realtime events between nodes and shares the rate limits; empty: one node, in-process.
    redis_url: str = ""  # redis:
    # redis: while Redis is away, how often subscribers re-read their conversations.
    redis_catch_up_seconds: float = Field(default=2.0, gt=0)  # redis:
    # import: the PostgreSQL connection pool per process (docs/operations.md sizes it against
    # max_connections): kept open, and opened beyond that under load and closed again.
    db_pool_size: int = Field(default=10, ge=1, le=500)  # import
    db_max_overflow: int = Field(default=10, ge=0, le=500)  # import
    # search: searches one caller may run per minute (each is a full-text query).
    search_rate_per_minute: int = Field(default=60, ge=1)  # search:
    # ai: the AI provider (docs/ai.md). `local` needs no network; `openai` is any
    # OpenAI-compatible chat-completions endpoint. Tenants may choose their own (settings,
    # and the `ai_api_key` secret); these are the defaults.
    ai_provider: Literal["local", "openai"] = "local"  # ai:
    ai_base_url: str = "https://api.openai.com/v1"  # ai:
    ai_model: str = "gpt-4o-mini"  # ai:
    ai_api_key: str = ""  # ai:
    ai_timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # ai:
    # ai: the most (estimated) tokens of conversation one request carries; longer ones are
    # summarised incrementally, a part at a time.
    ai_max_input_tokens: int = Field(default=3000, ge=200, le=200_000)  # ai:
    # ai: how many suggestion requests one user may make per minute.
    ai_suggest_rate_per_minute: int = Field(default=20, ge=1)  # ai:
    # email: the inbound SMTP listener (off unless a host is given; port 0 picks a free one),
    # the largest mail it or the webhook takes, the mails one client address may hand it per
    # minute, and the bearer secret of POST /api/v1/webhooks/email (unset: 401). docs/email.md
    smtp_listen_host: str = ""  # email:
    smtp_listen_port: int = Field(default=2525, ge=0, le=65535)  # email:
    email_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)  # email:
    email_rate_per_minute: int = Field(default=60, ge=1)  # email:
    email_webhook_secret: str = ""  # email:
    # email: outbound SMTP (replies in email conversations, notifications); no host: not sent.
    smtp_host: str = ""  # email:
    smtp_port: int = Field(default=587, ge=1, le=65535)  # email:
    smtp_username: str = ""  # email:
    smtp_password: str = ""  # email:
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"  # email:
    smtp_from: str = ""  # email: the From of notifications (and of replies without a channel)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)  # email:
    # searchfix: searches a minute from one client address, whoever signs in (guests come cheap)
    search_address_rate_per_minute: int = Field(default=120, ge=1)  # searchfix:

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _check_synchronous(cls, value: object) -> object:
        level = value.strip().upper() if isinstance(value, str) else value
        if level not in ("FULL", "NORMAL"):
            raise ValueError(f"PARLOUR_SQLITE_SYNCHRONOUS must be FULL or NORMAL, not {value!r}")
        return level

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # HS256 wants a key at least as long as its hash (32 bytes); a short one is guessable.
        if value and len(value.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"PARLOUR_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes "
                f"(it has {len(value.encode())}); generate one with `openssl rand -base64 48`, "
                "or unset it to have one generated in the data folder"
            )
        return value

    @field_validator("cron_secret")
    @classmethod
    def _cron_secret_long_enough(cls, value: str) -> str:
        # The cron endpoint takes no other credential: a short secret could be guessed online.
        if value and len(value.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"PARLOUR_CRON_SECRET must be at least {MIN_SECRET_KEY_BYTES} bytes "
                "(generate one with `openssl rand -base64 32`)"
            )
        return value

    @field_validator("email_webhook_secret")  # email:
    @classmethod
    def _email_secret_long_enough(cls, value: str) -> str:
        # email: like the cron secret, the webhook takes no other credential.
        if value and len(value.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"PARLOUR_EMAIL_WEBHOOK_SECRET must be at least {MIN_SECRET_KEY_BYTES} bytes "
                "(generate one with `openssl rand -base64 32`)"
            )
        return value

    @field_validator("allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice_servers(cls, value: object) -> object:
        # video: a JSON list; a typo fails at start, not silently in every call.
        if isinstance(value, str):
            return parse_ice_servers(value) if value.strip() else []
        return value

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _turn_urls(cls, value: object) -> object:
        # video: comma-separated turn:/turns: URLs, checked like PARLOUR_ICE_SERVERS.
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and value:
            IceServer(urls=value)
        return value

    @field_validator("redis_url")  # redis:
    @classmethod
    def _redis_url(cls, value: str) -> str:
        # redis: a typo fails at start, not as "events do not cross nodes" later.
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("PARLOUR_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a typo fails at start, not silently at the first request
        return value

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'parlour.db').as_posix()}"

    def resolved_migrate_database_url(self) -> str:  # rls:
        """The URL migrations run on: the owner's, else the app's."""
        return self.migrate_database_url or self.resolved_database_url()

    def resolved_secret_key(self) -> str:
        """The signing key: given, or generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return _secret_key_file(self.data_dir / "secret_key")

    def origin_allowed(self, origin: str, *, scheme: str, host: str) -> bool:
        """Whether a browser Origin may use cookie auth: exactly our own origin (`scheme` and
        `host` as the request reached us: `http`/`ws` or `https`/`wss`, the Host header) or a
        configured one. `https://host` is not `http://host`: another scheme is another origin."""
        theirs = _origin(origin)
        if theirs is None:
            return False  # "null", garbage
        if theirs in {_origin(o) for o in self.allowed_origins}:
            return True
        ours = {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme.lower())
        return theirs == _origin(f"{ours}://{host}")


def _secret_key_file(path: Path) -> str:
    """The key kept in `path`, created 0600 from its first byte (O_EXCL: of several processes
    starting at once exactly one creates it; the others read that one's key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    key = secrets.token_urlsafe(48)
    try:
        os.write(fd, key.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def _read_key(path: Path, *, wait_seconds: float = 5.0) -> str:
    # A concurrent creator may not have written its key yet: wait briefly for it.
    deadline = time.monotonic() + wait_seconds
    while True:
        key = path.read_text().strip()
        if key:
            return key
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{path} is empty; delete it to have a new key generated (every token "
                "signed with the old key stops working)"
            )
        time.sleep(0.05)
