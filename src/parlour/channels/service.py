"""Channel accounts: only the tenant's admins create, list, change and delete them; another
tenant's are reported as missing (404). Twilio credentials are tenant secrets (sealed, never
returned: only a hint); webhooks and jobs read them as the system with `twilio_account`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.auth.principal import Principal
from parlour.channels import repository
from parlour.channels.phone import InvalidPhoneNumber, from_twilio_address
from parlour.channels.schemas import (
    ChannelRead,
    ChannelUpdate,
    Credentials,
    EmailChannelCreate,
    Template,
    TemplateRead,
    TwilioChannelCreate,
    Webhooks,
)
from parlour.core.errors import BadRequest, Conflict, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.channel import TWILIO_KINDS, Channel, ChannelKind
from parlour.tenants import service as tenants

WEBHOOK_BASE = "/api/v1/webhooks/twilio"


def account_sid_secret(channel_id: str) -> str:
    return f"channel:{channel_id}:account_sid"


def auth_token_secret(channel_id: str) -> str:
    return f"channel:{channel_id}:auth_token"


def messages_path(channel_id: str) -> str:
    return f"{WEBHOOK_BASE}/{channel_id}/messages"


def status_path(channel_id: str) -> str:
    return f"{WEBHOOK_BASE}/{channel_id}/status"


def _number(raw: str) -> str:
    try:
        return from_twilio_address(raw)
    except InvalidPhoneNumber as exc:
        raise BadRequest(str(exc), code="invalid_phone_number") from exc


def _admins_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only admins manage channel accounts.", code="admin_only")


def _not_found() -> NotFound:
    return NotFound("Channel not found.", code="channel_not_found")


def templates_of(channel: Channel) -> list[TemplateRead]:
    """The channel's approved templates (WhatsApp)."""
    return [TemplateRead.model_validate(t) for t in (channel.settings or {}).get("templates", [])]


async def _read(tx: UnitOfWork, channel: Channel, public_url: str) -> ChannelRead:
    credentials = webhooks = None
    if channel.kind in TWILIO_KINDS:
        names = [account_sid_secret(channel.id), auth_token_secret(channel.id)]
        hints = await tenants.domain_secret_hints(tx.session, channel.tenant_id, names)
        credentials = Credentials(
            account_sid_hint=hints.get(names[0]),
            auth_token_set=names[1] in hints,
            auth_token_hint=hints.get(names[1]),
        )
        base = public_url.rstrip("/")
        webhooks = Webhooks(
            messages_url=base + messages_path(channel.id),
            status_url=base + status_path(channel.id),
        )
    return ChannelRead(
        id=channel.id,
        kind=channel.kind,
        name=channel.name,
        enabled=channel.enabled,
        from_number=channel.from_number,
        address=channel.address,
        display_name=channel.display_name,
        templates=templates_of(channel),
        credentials=credentials,
        webhooks=webhooks,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


async def _flush(tx: UnitOfWork, channel: Channel) -> None:
    try:
        await tx.session.flush()
    except IntegrityError as exc:  # a concurrent create took the number or address first
        raise _taken(channel) from exc


def _taken(channel: Channel) -> Conflict:
    if channel.kind == ChannelKind.email:
        return Conflict(f"The address {channel.address} is already used.", code="address_taken")
    return Conflict(
        f"This tenant already has a {channel.kind} channel for {channel.from_number}.",
        code="number_taken",
    )


async def _check_free(tx: UnitOfWork, channel: Channel) -> None:
    if channel.address is not None:
        found = await repository.by_address(tx.session, channel.address)
    else:
        assert channel.from_number is not None
        found = await repository.by_number(
            tx.session, channel.tenant_id, channel.kind, channel.from_number
        )
    if found is not None and found.id != channel.id:
        raise _taken(channel)


async def list_channels(
    tx: UnitOfWork, principal: Principal, *, public_url: str
) -> list[ChannelRead]:
    """The caller's tenant's channel accounts (admins)."""
    _admins_only(principal)
    return [
        await _read(tx, c, public_url)
        for c in await repository.list_of(tx.session, principal.tenant_id)
    ]


async def get_channel(
    tx: UnitOfWork, principal: Principal, channel_id: str, *, public_url: str
) -> ChannelRead:
    """One of the caller's tenant's channel accounts (admins)."""
    _admins_only(principal)
    channel = await repository.get(tx.session, channel_id)
    if channel is None or channel.tenant_id != principal.tenant_id:
        raise _not_found()
    return await _read(tx, channel, public_url)


async def do_create(
    tx: UnitOfWork,
    principal: Principal,
    body: TwilioChannelCreate | EmailChannelCreate,
    *,
    server_secret: str,
    public_url: str,
) -> ChannelRead:
    """Add a channel account to the caller's tenant (admins); its credentials become secrets."""
    _admins_only(principal)
    channel = Channel(
        id=new_id(),
        tenant_id=principal.tenant_id,
        kind=body.kind,
        enabled=True,
        settings={},
        created_at=tx.now,
        updated_at=tx.now,
    )
    if isinstance(body, TwilioChannelCreate):
        channel.from_number = _number(body.from_number)
        label = "WhatsApp" if body.kind == ChannelKind.whatsapp else "SMS"
        channel.name = body.name or f"{label} {channel.from_number}"
    else:
        channel.address = body.address
        channel.display_name = body.display_name
        channel.name = body.name or body.address
    await _check_free(tx, channel)
    repository.add(tx.session, channel)
    await _flush(tx, channel)
    if isinstance(body, TwilioChannelCreate):
        await _store_credentials(
            tx, channel, body.account_sid, body.auth_token, server_secret=server_secret
        )
    return await _read(tx, channel, public_url)


async def _store_credentials(
    tx: UnitOfWork,
    channel: Channel,
    account_sid: str | None,
    auth_token: str | None,
    *,
    server_secret: str,
) -> None:
    for name, value in (
        (account_sid_secret(channel.id), account_sid),
        (auth_token_secret(channel.id), auth_token),
    ):
        if value is not None:
            await tenants.do_store_domain_secret(
                tx, channel.tenant_id, name, value, server_secret=server_secret
            )


def _set_templates(channel: Channel, templates: list[Template]) -> None:
    settings: dict[str, Any] = dict(channel.settings or {})
    settings["templates"] = [t.model_dump() for t in templates]
    channel.settings = settings  # a new dict: the JSON column sees the change


async def do_update(
    tx: UnitOfWork,
    principal: Principal,
    channel_id: str,
    body: ChannelUpdate,
    *,
    server_secret: str,
    public_url: str,
) -> ChannelRead:
    """Rename, enable or disable, rotate credentials, change the number or templates
    (admins). A field that does not apply to the channel's kind is refused."""
    _admins_only(principal)
    channel = await repository.lock(tx.session, principal.tenant_id, channel_id)
    if channel is None:
        raise _not_found()
    twilio_fields = {"account_sid", "auth_token", "from_number", "templates"}
    given = body.model_fields_set
    if channel.kind == ChannelKind.email and given & twilio_fields:
        raise Conflict(
            "Email channels have no Twilio credentials, number or templates.",
            code="not_for_this_channel",
        )
    if channel.kind in TWILIO_KINDS and "display_name" in given:
        raise Conflict("Only email channels have a display name.", code="not_for_this_channel")
    if body.name is not None:
        channel.name = body.name
    if body.enabled is not None:
        channel.enabled = body.enabled
    if body.display_name is not None:
        channel.display_name = body.display_name
    if body.from_number is not None and _number(body.from_number) != channel.from_number:
        channel.from_number = _number(body.from_number)
        await _check_free(tx, channel)
    if body.templates is not None:
        _set_templates(channel, body.templates)
    channel.updated_at = tx.now
    await _flush(tx, channel)
    await _store_credentials(
        tx, channel, body.account_sid, body.auth_token, server_secret=server_secret
    )
    return await _read(tx, channel, public_url)


async def do_delete(tx: UnitOfWork, principal: Principal, channel_id: str) -> None:
    """Delete a channel account and its credentials (admins). Its conversations stay; replies
    in them can no longer be sent."""
    _admins_only(principal)
    channel = await repository.lock(tx.session, principal.tenant_id, channel_id)
    if channel is None:
        raise _not_found()
    await tenants.do_forget_domain_secrets(
        tx, channel.tenant_id, [account_sid_secret(channel.id), auth_token_secret(channel.id)]
    )
    await repository.delete(tx.session, channel)


# --- for webhooks and jobs (as the system) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """A Twilio channel and its credentials in the clear (never leaves the process)."""

    channel_id: str
    tenant_id: str
    kind: str
    from_number: str
    enabled: bool
    account_sid: str
    auth_token: str

    @property
    def whatsapp(self) -> bool:
        return self.kind == ChannelKind.whatsapp


async def twilio_account(
    session: AsyncSession, channel_id: str, *, server_secret: str
) -> TwilioAccount | None:
    """The Twilio channel with this id, any tenant's, with its credentials; None when there is
    no such channel, it is not a Twilio one, or its credentials are not set."""
    channel = await repository.get(session, channel_id)
    if channel is None or channel.kind not in TWILIO_KINDS or channel.from_number is None:
        return None
    sid = await tenants.read_domain_secret(
        session, channel.tenant_id, account_sid_secret(channel.id), server_secret=server_secret
    )
    token = await tenants.read_domain_secret(
        session, channel.tenant_id, auth_token_secret(channel.id), server_secret=server_secret
    )
    if not sid or not token:
        return None
    return TwilioAccount(
        channel_id=channel.id,
        tenant_id=channel.tenant_id,
        kind=channel.kind,
        from_number=channel.from_number,
        enabled=channel.enabled,
        account_sid=sid,
        auth_token=token,
    )


async def email_channel_for(session: AsyncSession, address: str) -> Channel | None:
    """The enabled email channel receiving at `address` (any tenant's: inbound mail finds its
    tenant this way); None when there is none."""
    channel = await repository.by_address(session, address.strip().lower())
    if channel is None or channel.kind != ChannelKind.email or not channel.enabled:
        return None
    return channel
