"""The email tests' node: its SMTP listener on a free loopback port, the webhook's secret, and
outbound SMTP pointed at a local sink (a real aiosmtpd server in the test, see support.Sink)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parlour.config import Settings
from tests.mail.support import WEBHOOK_SECRET, Sink


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = Sink()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def settings(settings: Settings, sink: Sink) -> Settings:
    settings.smtp_listen_host = "127.0.0.1"
    settings.smtp_listen_port = 0
    settings.email_webhook_secret = WEBHOOK_SECRET
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = sink.port
    settings.smtp_tls = "none"
    settings.smtp_from = "Parlour <noreply@parlour.example>"
    settings.job_poll_seconds = 0.1
    return settings
