"""CORS for the public support API (`/api/v1/support/...`), for the tenant's widget origins only.

A site that calls the support API from its own pages (a custom widget) is a cross-origin
caller. The tenant names the sites it trusts (`widget_allowed_origins`, exact origins); the
tenant is the request's `?tenant=` (the default tenant without one), so a preflight, which has
no body, is decided the same way as the request it announces.

- Our own origin (and PARLOUR_ALLOWED_ORIGINS: `Settings.origin_allowed`, the rule the CSRF
  guard and the gateway use) is not cross-origin here: passed through untouched.
- A listed origin: the preflight is answered (204) and the response carries
  `Access-Control-Allow-Origin: <that origin>` and `Vary: Origin`. No credentials mode: the
  caller sends the guest's token as `Authorization: Bearer`, never our cookie.
- Any other Origin: 403 `origin_not_allowed`, preflight included, and the request never
  reaches the route. Refusing on the server, not only leaving the answer unreadable, also
  stops "simple" requests that a browser sends without a preflight.

Requests without an Origin (curl, servers) are not a browser's and pass through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parlour.core.csrf import OriginCheck
from parlour.core.origins import origin_in
from parlour.tickets import service

PREFIX = "/api/v1/support/"
SLUG = re.compile(r"[A-Za-z0-9_\-]{1,64}")
ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "authorization, content-type"
MAX_AGE = "600"
CODE = "origin_not_allowed"
MESSAGE = "This site may not call the support API: it is not one of the tenant's widget origins."


class SupportCors:
    """Pure ASGI, outside the CSRF guard. `refusal()` is the 403 JSON body."""

    def __init__(
        self, app: ASGIApp, *, origin_allowed: OriginCheck, refusal: Callable[[], Response]
    ) -> None:
        self.app = app
        self.origin_allowed = origin_allowed
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        origin = conn.headers.get("origin")
        host = conn.headers.get("host", "")
        if origin is None or self.origin_allowed(origin, scheme=conn.url.scheme, host=host):
            await self.app(scope, receive, send)
            return
        if not await self._listed(scope, origin):
            await self.refusal()(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in conn.headers:
            preflight = Response(status_code=204, headers=_cors_headers(origin, preflight=True))
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _cors_headers(origin, preflight=False).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _listed(self, scope: Scope, origin: str) -> bool:
        runtime: Any = scope["app"].state.runtime
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        slug = (query.get("tenant") or [None])[0]
        if slug is not None and not SLUG.fullmatch(slug):
            return False
        async with runtime.uow(write=False) as tx:
            allowed = await service.widget_origins(tx, slug)
        return origin_in(origin, allowed)


def _cors_headers(origin: str, *, preflight: bool) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if preflight:
        headers |= {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        }
    return headers
