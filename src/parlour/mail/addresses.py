"""Email addresses as Parlour uses them: normalised, and the per-conversation reply address.

A conversation's reply address is its channel address with a plus tag,
`support+<token>@acme.example`. Mail services (Gmail and Google Workspace, Microsoft 365,
Fastmail, Postfix with `recipient_delimiter = +`) deliver it to `support@acme.example`, so a
forwarding setup needs nothing more. The token is 128 random bits (stored with the
conversation's thread), so nobody can write into a conversation by guessing its address.
"""

from __future__ import annotations

import base64
import secrets
from email.headerregistry import Address
from email.utils import parseaddr

MAX_ADDRESS = 254
TOKEN_BYTES = 16


def normalise(address: str) -> str | None:
    """`local@domain` lower-cased, or None when `address` is not one plain address."""
    _, spec = parseaddr(address.strip().strip("<>"))
    spec = spec.strip().lower()
    local, at, domain = spec.rpartition("@")
    if not at or not local or not domain or "." not in domain or len(spec) > MAX_ADDRESS:
        return None
    if not spec.isprintable() or any(c.isspace() or c in '<>(),;:"[]\\' for c in spec):
        return None
    return spec


def plus_tag(address: str) -> tuple[str, str] | None:
    """(base address, tag) of `local+tag@domain`, or None when it has no tag."""
    local, _, domain = address.rpartition("@")
    base, plus, tag = local.rpartition("+")
    if not plus or not base or not tag:
        return None
    return f"{base}@{domain}", tag


def new_reply_token() -> str:
    """128 random bits, lower-case base32 (mail systems may lower-case a local part)."""
    raw = secrets.token_bytes(TOKEN_BYTES)
    return base64.b32encode(raw).decode().rstrip("=").lower()


def reply_address(channel_address: str, token: str) -> str:
    """The reply address of a conversation that came in on `channel_address`."""
    local, _, domain = channel_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def formatted(address: str, display_name: str | None) -> str:
    """`"Name" <address>` (quoted and encoded as the headers need), or the bare address."""
    if not display_name:
        return address
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=display_name, username=local, domain=domain))
