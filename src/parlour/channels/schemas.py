"""What crosses the wire for channel accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from parlour.core.schemas import InputModel, OutputModel

Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
AccountSid = Annotated[
    str, Field(pattern=r"^AC[0-9a-fA-F]{32}$", description="The Twilio account SID (AC...).")
]
AuthToken = Annotated[
    str,
    Field(
        min_length=16,
        max_length=128,
        pattern=r"^[A-Za-z0-9]+$",
        description="The Twilio auth token; write-only (only a hint is ever shown).",
    ),
]
PhoneNumber = Annotated[
    str,
    Field(
        min_length=3,
        max_length=32,
        pattern=r"^(whatsapp:)?[+0-9 ().\-]+$",
        description="The number with its country code; stored in E.164 (+14155550100). "
        "One that is not a possible number is 400 `invalid_phone_number`.",
    ),
]
EmailAddress = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$",
        description="The receiving address, stored lower-cased; unique across the service.",
    ),
    AfterValidator(str.lower),
]
ContentSid = Annotated[
    str, Field(pattern=r"^HX[0-9a-fA-F]{32}$", description="Twilio Content SID (HX...).")
]
VariableName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


class Template(InputModel):
    """A WhatsApp template approved by Meta, sent through Twilio's Content API."""

    name: Name
    content_sid: ContentSid
    # What it says, with {{1}}-style placeholders, for the agent to choose by.
    body: str = Field(default="", max_length=1024)
    # The placeholders the agent fills in, in order ("1", "2" ...).
    variables: list[VariableName] = Field(default_factory=list, max_length=10)


class TwilioChannelCreate(InputModel):
    kind: Literal["whatsapp", "sms"]
    name: Name | None = None
    account_sid: AccountSid
    auth_token: AuthToken
    from_number: PhoneNumber


class EmailChannelCreate(InputModel):
    kind: Literal["email"]
    name: Name | None = None
    address: EmailAddress
    display_name: Name | None = None


ChannelCreate = Annotated[TwilioChannelCreate | EmailChannelCreate, Field(discriminator="kind")]


class ChannelUpdate(InputModel):
    """Any subset; credentials given are replaced (rotated), those left out kept."""

    name: Name | None = None
    enabled: bool | None = None
    account_sid: AccountSid | None = None
    auth_token: AuthToken | None = None
    from_number: PhoneNumber | None = None
    display_name: Name | None = None
    templates: list[Template] | None = Field(default=None, max_length=100)


class TemplateRead(OutputModel):
    name: str
    content_sid: str
    body: str = ""
    variables: list[str] = Field(default_factory=list)


class Credentials(OutputModel):
    """Whether the Twilio credentials are set, and hints; never the values."""

    account_sid_hint: str | None
    auth_token_set: bool
    auth_token_hint: str | None


class Webhooks(OutputModel):
    """What to paste into Twilio's console for this number (docs/channels.md)."""

    messages_url: str
    status_url: str


class ChannelRead(OutputModel):
    id: str
    kind: str
    name: str
    enabled: bool
    from_number: str | None = None
    address: str | None = None
    display_name: str | None = None
    templates: list[TemplateRead] = Field(default_factory=list)
    credentials: Credentials | None = None
    webhooks: Webhooks | None = None
    created_at: datetime
    updated_at: datetime


class ChannelList(OutputModel):
    channels: list[ChannelRead]
