"""Who the client is behind a reverse proxy: `X-Forwarded-For` and `X-Forwarded-Proto` are
believed only from the proxies an operator names (PARLOUR_TRUSTED_PROXIES), never from any
caller, loopback included; otherwise anyone could pick their own rate-limit key or scheme.

`ForwardedHeaders` rewrites the ASGI scope's `client` and `scheme` once, at the edge of the app,
so `client_ip(request)` and `request.url.scheme` are right everywhere (REST, pages, WebSocket)
and under any ASGI server (`parlour serve` runs uvicorn with its own proxy handling off).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[IPNetwork]:
    """IPs and CIDRs ("10.0.0.1", "10.0.0.0/8", "::1"); ValueError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {entry!r}") from None
    return networks


class TrustedProxies:
    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = parse_networks(entries)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_behind(self, peer: str, forwarded_for: str) -> str:
        """The client address: walking `X-Forwarded-For` from the right (the hop our peer
        added), the first address that is not one of our proxies. Entries further left were
        written by whoever the untrusted hop was, so they are never believed."""
        host = peer
        for entry in reversed([e.strip() for e in forwarded_for.split(",")]):
            if host not in self:
                break
            try:
                ipaddress.ip_address(entry)
            except ValueError:
                break  # garbage from a hop: keep the last address we could vouch for
            host = entry
        return host


class ForwardedHeaders:
    """Pure ASGI: for requests whose peer is a trusted proxy, take the client address from
    `X-Forwarded-For` and the scheme from `X-Forwarded-Proto` (the value our proxy set, the
    rightmost); from anyone else, ignore both."""

    def __init__(self, app: ASGIApp, *, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted:
            client = scope.get("client")
            if client and client[0] in self.trusted:
                scope = self._rewritten(scope, client)
        await self.app(scope, receive, send)

    def _rewritten(self, scope: Scope, client: tuple[str, int]) -> Scope:
        headers: dict[bytes, str] = {}
        for name, value in scope.get("headers", []):
            # Repeated headers are one list (RFC 9110), in order.
            key = name.lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        scope = dict(scope)
        forwarded_for = headers.get(b"x-forwarded-for")
        if forwarded_for:
            scope["client"] = (self.trusted.client_behind(client[0], forwarded_for), 0)
        proto = headers.get(b"x-forwarded-proto", "").rpartition(",")[2].strip().lower()
        if proto in ("http", "https", "ws", "wss"):
            secure = proto in ("https", "wss")
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = "https" if secure else "http"
        return scope


def client_ip(conn: HTTPConnection) -> str:
    """The client's address (after `ForwardedHeaders`): the one key for per-address limits."""
    return conn.client.host if conn.client else "unknown"
