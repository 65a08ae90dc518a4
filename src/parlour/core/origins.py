"""Browser origins (scheme, host and port), compared the way browsers do.

One normalisation for every Origin check: the CSRF guard and the realtime gateway
(`Settings.origin_allowed`), a tenant's widget origins (`widget_allowed_origins`), the support
API's CORS. `https://host` is not `http://host`, and `http://host:80` is `http://host`.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_PORTS = {"http": "80", "https": "443"}


def parse_origin(value: str) -> tuple[str, str] | None:
    """(scheme, host[:port]) of an origin, lower-cased, without a default port; None when it is
    not an http(s) origin."""
    scheme, sep, netloc = value.strip().rstrip("/").partition("://")
    scheme, netloc = scheme.lower(), netloc.lower()
    if not sep or scheme not in DEFAULT_PORTS or not netloc or "/" in netloc or "@" in netloc:
        return None
    if any(c in netloc for c in "?#\\ \t") or any(ord(c) < 0x21 or ord(c) > 0x7E for c in netloc):
        return None
    if not netloc.endswith("]"):  # "[::1]" has colons but no port
        host, colon, port = netloc.rpartition(":")
        if colon and port == DEFAULT_PORTS[scheme]:
            netloc = host
    return scheme, netloc


def normalise_origin(value: str) -> str | None:
    """The origin as a browser sends it (`https://shop.example`), or None when it is not one."""
    parsed = parse_origin(value)
    return f"{parsed[0]}://{parsed[1]}" if parsed else None


def origin_in(origin: str, allowed: Iterable[str]) -> bool:
    """Whether `origin` is exactly one of `allowed` (after normalisation; never a pattern)."""
    theirs = parse_origin(origin)
    return theirs is not None and theirs in {parse_origin(o) for o in allowed}
