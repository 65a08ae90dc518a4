"""The typed schema of a tenant's settings (stored as JSON in `tenants.settings`).

This class is the one place a setting is declared: a field here is a setting, with its type,
its limits, its default and its description, and it is at once readable by every service
(`tenant.typed_settings.<field>`), shown and validated by `GET/PATCH /api/v1/tenant/settings`,
and documented in the OpenAPI schema. A domain that needs a setting (appointment grace hours,
an agent's default capacity, ...) adds a field with a default here and nothing else; tenants
that never set it get the default, and a later change of the default reaches them too, because
the row stores only what an admin changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from parlour.core.origins import normalise_origin

log = logging.getLogger(__name__)

# A conversation kind, as `POST /conversations` accepts it.
ConversationKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# A short label shown on pages: printable, one line, never empty.
Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


# A whole number: JSON Schema counts 3.0 as an integer (and JavaScript may send
# one), so it is accepted as 3 while 3.5 stays wrong.
def _integral(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[int, BeforeValidator(_integral)]


# desk: an exact browser origin (`https://shop.example`), stored as browsers send it.
def _exact_origin(value: str) -> str:
    origin = normalise_origin(value)
    if origin is None:
        raise ValueError("an origin is a scheme, a host and an optional port: https://shop.example")
    return origin


WidgetOrigin = Annotated[
    str,
    StringConstraints(
        max_length=300,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?/?$",
    ),
    AfterValidator(_exact_origin),
]


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 600.0 is the integer 600 (a string is still refused).
    return int(value) if isinstance(value, float) and value.is_integer() else value


Seconds = Annotated[int, BeforeValidator(_whole_number)]


class TenantSettings(BaseModel):
    """What a tenant may change about how its conversations behave."""

    # Strict and closed: a wrong type or an unknown key is an error, never coerced or kept.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)

    customer_conversation_kinds: list[ConversationKind] = Field(
        default_factory=lambda: ["support"],
        max_length=32,
        description="Conversation kinds a customer may open for itself (others are opened by "
        "staff or by a payment).",
    )
    announce_observers: bool = Field(
        default=True,
        description="Whether participants are told when an admin starts observing a conversation.",
    )
    staff_label: Label = Field(
        default="expert",
        description='What the tenant calls its staff ("expert", "mechanic", "volunteer", ...).',
    )
    # routing: which conversations are routed to agents, and an agent's default capacity
    routed_kinds: list[ConversationKind] = Field(
        default_factory=lambda: ["support", "consultation", "video", "diagnostic"],
        max_length=32,
        description="Conversation kinds that are routed to available agents while waiting "
        "(others wait for someone to pick them).",
    )
    default_agent_capacity: WholeNumber = Field(
        default=3,
        ge=0,
        le=100,
        description="How many active conversations an agent takes at most, unless an admin "
        "gave them their own capacity.",
    )
    # video: which conversation kinds may hold a WebRTC call (docs/video-calls.md).
    call_kinds: list[ConversationKind] = Field(
        default_factory=lambda: ["video"],
        max_length=32,
        description="Conversation kinds whose customer and agent may hold a video call "
        "(signaling is refused in every other kind).",
    )
    # attachments: private read receipts
    private_read_receipts: bool = Field(
        default=False,
        description="Agents read without the customer seeing it: an agent's read pointer is "
        "kept but shown to the customer only up to the agent's own last message.",
    )

    # appointments: how long an appointment's chat stays open after it ends, and reminders.
    appointment_grace_hours: WholeNumber = Field(
        default=6,
        ge=0,
        le=168,
        description="Hours an appointment's chat stays open after the appointment ends.",
    )
    appointment_reminder_minutes: WholeNumber = Field(
        default=15,
        ge=0,
        le=1440,
        description="Minutes before an appointment starts that both people are reminded "
        "(0: no reminder).",
    )
    # fixdesk: how many upcoming appointments one customer may book for itself.
    max_upcoming_bookings: WholeNumber = Field(
        default=3,
        ge=0,
        le=100,
        description="How many scheduled appointments that have not ended yet a customer may "
        "hold through self-booking (0: customers cannot book; admins still record them).",
    )
    # paidbook: the plan a self-booked appointment is paid with (null: booking is free).
    appointment_plan: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^[a-z0-9][a-z0-9_\-]*$",
        description="Code of the plan customers pay through checkout to book an appointment "
        "(null: booking is free). The slot is held unpaid for 30 minutes.",
    )
    # payments: the promise no desk makes (docs/payments.md).
    no_expert_refund_minutes: WholeNumber = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Minutes a paid session may wait for an expert to join before the customer "
        "is refunded automatically and the conversation ends (no_expert).",
    )

    # desk: the support widget and the support desk (docs/support-desk.md).
    widget_allowed_origins: list[WidgetOrigin] = Field(
        default_factory=list,
        max_length=50,
        description="Sites that may embed the support widget (exact origins such as "
        "https://shop.example): the embed page's frame-ancestors, the support API's CORS and "
        "the realtime Origin check for guests. Empty: no other site may embed it.",
    )
    support_inactivity_seconds: Seconds = Field(
        default=24 * 60 * 60,
        ge=60,
        le=90 * 24 * 60 * 60,
        description="A support conversation with no message for this long is closed "
        "(reason inactivity) and its ticket resolved.",
    )

    # ai: the AI provider, what leaves the server, and masking (docs/ai.md).
    ai_enabled: bool = Field(
        default=True,
        description="Whether inbound messages are analysed and conversations summarised.",
    )
    ai_provider: Literal["local", "openai"] | None = Field(
        default=None,
        description="The AI provider: local (no network) or openai (an OpenAI-compatible "
        "endpoint). Null: the server's default (PARLOUR_AI_PROVIDER).",
    )
    ai_base_url: str | None = Field(
        default=None,
        max_length=300,
        pattern=r"^https://[^\s/?#@]+(/[^\s?#]*)?$",
        description="The tenant's OpenAI-compatible endpoint (https only), e.g. "
        "https://api.openai.com/v1. Null: the server's PARLOUR_AI_BASE_URL. Its key is the "
        "ai_api_key secret.",
    )
    ai_model: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$",
        description="The model name sent to the endpoint. Null: PARLOUR_AI_MODEL.",
    )
    ai_mask_outbound_pii: bool = Field(
        default=True,
        description="Mask card numbers, emails, phone numbers and IBANs in every text sent to "
        "the AI provider. Turn off only for a provider you trust with personal data.",
    )
    ai_mask_stored_pii: bool = Field(
        default=False,
        description="Store customers' messages with personal data masked for everyone but "
        "their sender (staff, transcripts, exports and search see the masked text).",
    )
    ai_phone_region: str = Field(
        default="US",
        pattern=r"^[A-Z]{2}$",
        description="Country whose national phone formats are recognised as phone numbers "
        "(numbers written with + are recognised anywhere).",
    )

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> TenantSettings:
        """The settings a row holds, read leniently: a key this version no longer knows, or a
        value it can no longer read, falls back to the default (and is logged) instead of
        making every request that reads the settings fail."""
        known = {k: v for k, v in (stored or {}).items() if k in cls.model_fields}
        try:
            return cls.model_validate(known)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            log.warning("tenant settings %s are unreadable; using their defaults", sorted(bad))
            return cls.model_validate({k: v for k, v in known.items() if k not in bad})

    def overrides(self) -> dict[str, Any]:
        """What to store: only the settings that were given, as JSON values."""
        return self.model_dump(mode="json", exclude_unset=True)
