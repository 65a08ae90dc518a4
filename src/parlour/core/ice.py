"""STUN/TURN servers for WebRTC, as the browser's `RTCIceServer` takes them.

Validated where they are configured (`PARLOUR_ICE_SERVERS`, the tenant secret `ice_servers`),
so a typo fails loudly there instead of silently leaving calls without a relay.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


class IceServer(BaseModel):
    """One STUN or TURN server. TURN servers carry a username and a credential: they are
    handed only to a call's two participants (see parlour.calls)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[str] = Field(min_length=1, max_length=8)
    username: str | None = Field(default=None, max_length=512)
    credential: str | None = Field(default=None, max_length=512)

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _ice_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(ICE_SCHEMES) or len(url) > 512:
                raise ValueError(f"not a stun:, stuns:, turn: or turns: URL: {url[:80]!r}")
        return value


ice_servers_adapter: TypeAdapter[list[IceServer]] = TypeAdapter(list[IceServer])


def parse_ice_servers(text: str) -> list[IceServer]:
    """A JSON list of servers (`[{"urls": "stun:stun.example.org:3478"}, ...]`); raises
    ValueError when it is not one."""
    return ice_servers_adapter.validate_json(text)
