"""Keep credentials out of log lines.

A browser cannot set headers on a WebSocket, so the realtime endpoint also accepts
`?token=...`, and Uvicorn's access log prints every request's query string. This filter
rewrites `token=<value>` (and `access_token=`) in a record's message and arguments to
`token=[redacted]` before any handler formats it; `install_redaction` puts it on the loggers
that print URLs. The arguments keep their shape: Uvicorn's access formatter unpacks them.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"([?&;](?:access_)?token=)[^&\s\"';]+", re.IGNORECASE)
REDACTED = "[redacted]"
# The loggers that print request URLs (Uvicorn's access and error logs, httpx's requests).
URL_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "httpx")


def redact(text: str) -> str:
    return _TOKEN.sub(rf"\g<1>{REDACTED}", text)


def _redact_arg(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return True


def install_redaction(names: tuple[str, ...] = URL_LOGGERS) -> None:
    """Add the filter to these loggers (once each; safe to call again)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
