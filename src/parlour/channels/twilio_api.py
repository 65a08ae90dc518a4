"""Twilio's REST API through the `twilio` library, asynchronously, over httpx.

The library's own async client needs aiohttp; ours (`HttpxTwilioClient`) is a small
`AsyncHttpClient` over httpx that also rewrites `https://*.twilio.com` to
`PARLOUR_TWILIO_API_BASE`, which is how tests and stand-ins take Twilio's place (the library
builds absolute URLs from each domain's base, so the HTTP client is the one seam every call
goes through). An `httpx` transport may be injected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from parlour.channels.phone import to_twilio_address

log = logging.getLogger(__name__)

# Twilio's states mapped onto ours (docs/channels.md): those Twilio reports while it still
# holds the message are `queued`; `canceled` (a scheduled message dropped) is `failed`.
TWILIO_STATUS: dict[str, str] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """The twilio library's HTTP client interface over httpx, pointed at `api_base`."""

    def __init__(
        self,
        api_base: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(log, True, timeout)
        self._base = urlsplit(api_base.rstrip("/"))
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    def rebase(self, url: str) -> str:
        """`https://api.twilio.com/...` (or any `*.twilio.com`) on the configured base."""
        parts = urlsplit(url)
        if not (parts.hostname or "").endswith("twilio.com"):
            return url
        path = self._base.path.rstrip("/") + parts.path
        return urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the library's interface names it)
        allow_redirects: bool = False,
    ) -> Response:
        response = await self._http.request(
            method,
            self.rebase(url),
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            follow_redirects=allow_redirects,
        )
        return Response(response.status_code, response.text, response.headers)

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str  # ours (TWILIO_STATUS)


@dataclass(frozen=True, slots=True)
class Found:
    sid: str
    status: str
    body: str
    created_at: datetime | None


class TwilioApi:
    """One account's calls: send a message, list recent ones between two numbers."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = HttpxTwilioClient(api_base, timeout=timeout, transport=transport)
        self.client = Client(account_sid, auth_token, http_client=self._http)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def send(
        self,
        *,
        to: str,
        from_: str,
        whatsapp: bool,
        body: str | None,
        status_callback: str | None,
        content_sid: str | None = None,
        content_variables: str | None = None,
    ) -> Sent:
        """Create a Message; raises `TwilioRestException` on a refusal (4xx/5xx) and httpx's
        errors (timeouts, refused connections) when the outcome is unknown."""
        kwargs: dict[str, Any] = {
            "to": to_twilio_address(to, whatsapp=whatsapp),
            "from_": to_twilio_address(from_, whatsapp=whatsapp),
        }
        if content_sid:
            kwargs["content_sid"] = content_sid
            if content_variables:
                kwargs["content_variables"] = content_variables
        else:
            kwargs["body"] = body
        if status_callback:
            kwargs["status_callback"] = status_callback
        created = await self.client.messages.create_async(**kwargs)
        return Sent(sid=str(created.sid), status=TWILIO_STATUS.get(str(created.status), "queued"))

    async def recent(self, *, to: str, from_: str, whatsapp: bool, limit: int = 50) -> list[Found]:
        """The newest messages from `from_` to `to` (Twilio lists newest first)."""
        found = await self.client.messages.list_async(
            to=to_twilio_address(to, whatsapp=whatsapp),
            from_=to_twilio_address(from_, whatsapp=whatsapp),
            limit=limit,
        )
        return [
            Found(
                sid=str(m.sid),
                status=TWILIO_STATUS.get(str(m.status), "queued"),
                body=m.body or "",
                created_at=m.date_created,
            )
            for m in found
        ]


def credentials_for(url: str, api_base: str) -> bool:
    """Whether a media URL is on Twilio's API host (or the configured stand-in's), the only
    place the account's credentials are ever sent. httpx drops them on a redirect elsewhere
    (Twilio redirects media to its CDN with a signed URL of its own)."""
    host = (urlsplit(url).hostname or "").lower()
    base = (urlsplit(api_base).hostname or "").lower()
    return host == base or host.endswith(".twilio.com") or host == "twilio.com"


async def fetch_media(
    url: str,
    *,
    account_sid: str,
    auth_token: str,
    api_base: str,
    timeout_seconds: float,
    max_bytes: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[bytes, str | None]:
    """The bytes at a MediaUrl (at most `max_bytes`; `MediaTooLarge` past it) and the
    Content-Type the server declared (never believed: the attachments service sniffs)."""
    auth = (account_sid, auth_token) if credentials_for(url, api_base) else None
    async with (
        httpx.AsyncClient(
            timeout=timeout_seconds, transport=transport, follow_redirects=True
        ) as http,
        http.stream("GET", url, auth=auth) as response,
    ):
        response.raise_for_status()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise MediaTooLarge(f"the media at {url} is over {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks), response.headers.get("content-type")


class MediaTooLarge(Exception):
    pass
