"""Cross-site request forgery: a browser attaches the session cookie to a form or `fetch` that
another site's page sends, so a write that authenticates by that cookie must come from one of
our own pages. Checked once, for every route, before routing (an ASGI middleware): no route can
forget it.

The rule, for an unsafe method (POST, PUT, PATCH, DELETE) that the cookie would authenticate,
and for every unsafe request to a page (the login form too: login CSRF):

- `Sec-Fetch-Site: same-origin` passes (every current browser sends it; a page cannot forge it);
- otherwise an `Origin` that is our own (scheme, host and port) or one of
  PARLOUR_ALLOWED_ORIGINS passes;
- anything else is refused with 403 `csrf_rejected`: a cross-site Origin, `Origin: null`, and a
  request with neither header. Browsers send one of them on every cross-site POST, so a request
  with neither is not a browser's; a script (curl) has no reason to ride on a cookie and uses
  the access token as `Authorization: Bearer` instead, which is never checked here.

A state-changing GET that the cookie authenticates (the payments checkout, a link by design)
uses `cross_site_request`: a browser says `Sec-Fetch-Site: cross-site` when another site's page
sent it here (a link, a redirect, an image), and such a request is refused unless its Origin is
ours or allowed.

Requests authenticated by `Authorization: Bearer` or `X-API-Key` are unaffected: a browser never
adds those on its own, so they cannot be forged across sites.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CODE = "csrf_rejected"
MESSAGE = (
    "Cross-site request refused: a write authenticated by the session cookie must come from "
    "this site's pages (Origin or Sec-Fetch-Site: same-origin); scripts send the access token "
    "as `Authorization: Bearer` instead."
)


class OriginCheck(Protocol):
    """Whether a browser Origin is ours (`scheme`, `host` as the request reached us) or allowed
    (`Settings.origin_allowed`)."""

    def __call__(self, origin: str, *, scheme: str, host: str) -> bool: ...


def from_our_pages(conn: HTTPConnection, origin_allowed: OriginCheck) -> bool:
    """Whether the browser says this request comes from our own (or an allowed) origin."""
    if conn.headers.get("sec-fetch-site", "").lower() == "same-origin":
        return True
    origin = conn.headers.get("origin")
    if origin is None:
        return False
    return origin_allowed(origin, scheme=conn.url.scheme, host=conn.headers.get("host", ""))


def cross_site_request(conn: HTTPConnection, origin_allowed: OriginCheck) -> bool:
    """Whether the browser says another site made it send this request (and its Origin, if
    any, is not one we allow): for GETs that change state, which the guard does not see."""
    if conn.headers.get("sec-fetch-site", "").lower() != "cross-site":
        return False
    return not from_our_pages(conn, origin_allowed)


class CsrfGuard:
    """Pure ASGI: refuses forgeable writes before any route (or body parsing) runs.

    `uses_cookie(conn)`: whether the session cookie is the request's credential.
    `is_api(path)`: API paths answer JSON; other paths are pages, always checked, and refused
    with `page_refusal(request)` (an HTML page)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        origin_allowed: OriginCheck,
        uses_cookie: Callable[[HTTPConnection], bool],
        is_api: Callable[[str], bool],
        api_refusal: Callable[[], Response],
        page_refusal: Callable[[Request], Response],
    ) -> None:
        self.app = app
        self.origin_allowed = origin_allowed
        self.uses_cookie = uses_cookie
        self.is_api = is_api
        self.api_refusal = api_refusal
        self.page_refusal = page_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        api = self.is_api(request.url.path)
        if (api and not self.uses_cookie(request)) or from_our_pages(request, self.origin_allowed):
            await self.app(scope, receive, send)
            return
        refusal = self.api_refusal() if api else self.page_refusal(request)
        await refusal(scope, receive, send)
