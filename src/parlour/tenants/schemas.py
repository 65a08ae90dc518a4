"""What crosses the wire for a tenant's settings and secrets."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, create_model

from parlour.core.schemas import InputModel, OutputModel
from parlour.models.tenant_settings import TenantSettings


def _patch_model() -> type[InputModel]:
    """`TenantSettings` with every field optional and `null` allowed (it resets the setting
    to its default): generated, so a field added to `TenantSettings` is patchable at once.
    Types and limits are the settings' own, strictly: a wrong type or an unknown key is a 422."""
    fields: dict[str, Any] = {}
    for name, field in TenantSettings.model_fields.items():
        assert field.annotation is not None
        annotation: Any = field.annotation
        if field.metadata:
            annotation = Annotated[(annotation, *field.metadata)]
        fields[name] = (annotation | None, Field(default=None, description=field.description))
    return create_model(
        "TenantSettingsPatch",
        __base__=InputModel,
        __doc__="Any subset of the settings; `null` resets one to its default.",
        **fields,
    )


if TYPE_CHECKING:
    TenantSettingsPatch = InputModel
else:
    TenantSettingsPatch = _patch_model()


class SecretName(enum.StrEnum):
    """The secrets a tenant may store. A domain that needs another adds it here (and to
    `SECRET_DESCRIPTIONS`); an unknown name is refused, so a typo never stores a key nothing
    reads."""

    stripe_secret_key = "stripe_secret_key"
    stripe_webhook_secret = "stripe_webhook_secret"
    twilio_auth_token = "twilio_auth_token"
    smtp_password = "smtp_password"
    ai_api_key = "ai_api_key"
    # video: this tenant's STUN/TURN servers (JSON), instead of PARLOUR_ICE_SERVERS.
    ice_servers = "ice_servers"


SECRET_DESCRIPTIONS: dict[SecretName, str] = {
    SecretName.stripe_secret_key: "Stripe secret API key (sk_...) for checkouts and refunds.",
    SecretName.stripe_webhook_secret: "Stripe webhook signing secret (whsec_...).",
    SecretName.twilio_auth_token: "Twilio auth token (sends, and verifies X-Twilio-Signature).",
    SecretName.smtp_password: "Password of the outgoing mail server account.",
    SecretName.ai_api_key: "API key of the OpenAI-compatible AI provider.",
    SecretName.ice_servers: "STUN/TURN servers for video calls, a JSON list of RTCIceServer "
    'objects ([{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}]); '
    "replaces PARLOUR_ICE_SERVERS for this tenant.",
}


class SecretWrite(InputModel):
    # Surrounding whitespace (a pasted newline) is stripped by InputModel.
    value: str = Field(min_length=1, max_length=4096)


class SecretRead(OutputModel):
    """A secret's presence, never its value."""

    name: SecretName
    description: str
    set: bool
    updated_at: datetime | None = None
    hint: str | None = Field(
        default=None, description="The last 4 characters of a long value (20 or more)."
    )
    readable: bool | None = Field(
        default=None,
        description="Whether this server can decrypt it: false after the server secret "
        "(PARLOUR_SECRET_KEY) changed; set it again. null when not set.",
    )


class SecretList(OutputModel):
    secrets: list[SecretRead]
