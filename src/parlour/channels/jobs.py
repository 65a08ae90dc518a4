"""The Twilio jobs: `twilio.send` (a reply out) and `twilio.media` (an inbound message's media
in). Both run as the tenant's system actor, outside any transaction but short ones of their own.

**No duplicate sends.** Twilio's Messages API takes no idempotency key, and an attempt can
end without an answer after Twilio accepted the message (a timeout, a worker killed mid-call).
So before every call the job records the attempt on the message (`meta.delivery.attempts`,
`first_attempt_at`, committed first), and an attempt that finds an earlier one without a
recorded SID asks Twilio first: it lists the newest messages from our number to the contact
and takes one created since the first attempt (less a minute of clock skew), with the same
body (any body for a template), whose SID is not already one of our messages. Found: that SID
is recorded and nothing is sent. Also, the StatusCallback URL carries our message id, so a
callback arriving for a send whose answer was lost records the SID too.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial

import httpx
from twilio.base.exceptions import TwilioRestException

from parlour.attachments import service as attachments
from parlour.attachments.inspection import clean_filename, prepare
from parlour.attachments.storage import storage_for
from parlour.auth.principal import Principal
from parlour.auth.service import get_user, principal_for
from parlour.channels import delivery as deliveries
from parlour.channels import inbound
from parlour.channels import service as channels
from parlour.channels.twilio_api import MediaTooLarge, TwilioApi, fetch_media
from parlour.core.errors import AppError
from parlour.jobs import Backoff, JobContext, JobRegistry, PermanentFailure
from parlour.messages import outbound
from parlour.messages import service as messages

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=1)


def _api(ctx: JobContext, account: channels.TwilioAccount) -> TwilioApi:
    settings = ctx.runtime.settings
    return TwilioApi(
        account.account_sid,
        account.auth_token,
        api_base=settings.twilio_api_base,
        timeout=settings.twilio_timeout_seconds,
    )


async def _fail(ctx: JobContext, message_id: str, code: str, text: str) -> None:
    async with ctx.uow() as tx:
        await outbound.do_fail(
            tx, ctx.principal.tenant_id, message_id, error_code=code, error_message=text[:500]
        )


async def _already_at_twilio(ctx: JobContext, api: TwilioApi, d: deliveries.Delivery) -> str | None:
    """The SID of the message an earlier, unanswered attempt made at Twilio, if it did."""
    assert d.account is not None and d.to is not None
    recent = await api.recent(to=d.to, from_=d.account.from_number, whatsapp=d.account.whatsapp)
    since = (d.first_attempt_at or ctx.clock.now()) - CLOCK_SKEW
    candidates = [
        m
        for m in recent
        if (m.created_at is None or m.created_at >= since)
        and (d.template is not None or m.body == d.body)
    ]
    if not candidates:
        return None
    async with ctx.uow(write=False) as tx:
        taken = await deliveries.claimed_sids(
            tx, d.tenant_id, d.channel, [m.sid for m in candidates]
        )
    free = [m for m in candidates if m.sid not in taken]
    # Twilio lists newest first: the oldest unclaimed one is ours.
    return free[-1].sid if free else None


async def send(ctx: JobContext) -> None:
    tenant_id = ctx.principal.tenant_id
    message_id = str(ctx.payload["message_id"])
    runtime = ctx.runtime
    async with ctx.uow(write=False) as tx:
        d = await deliveries.delivery_of(
            tx, tenant_id, message_id, server_secret=runtime.secret_key
        )
    if d is None or d.external_id is not None:
        return  # gone, or Twilio has it already
    if d.account is None or not d.account.enabled or not d.to:
        await _fail(
            ctx,
            message_id,
            "channel_unavailable",
            "The channel account is gone, disabled or has no credentials.",
        )
        raise PermanentFailure("the channel account is gone, disabled or has no credentials")
    if not d.body.strip() and d.template is None:
        await _fail(ctx, message_id, "nothing_to_send", "Only text is sent over this channel.")
        raise PermanentFailure("nothing to send: files are not sent over WhatsApp/SMS")
    if d.status == outbound.FAILED:
        # The job itself was retried (the admin jobs API): the message goes back to queued.
        async with ctx.uow() as tx:
            await outbound.do_requeue(tx, tenant_id, message_id)
    async with _api(ctx, d.account) as api:
        if d.attempts > 0:
            # An earlier call may have got through without our hearing of it: ask first.
            found = await _already_at_twilio(ctx, api, d)
            if found is not None:
                log.info("message %s was already at Twilio as %s", message_id, found)
                async with ctx.uow() as tx:
                    await outbound.do_advance_status(
                        tx, tenant_id, message_id, "queued", external_id=found
                    )
                return
        async with ctx.uow() as tx:
            await outbound.do_mark_attempt(tx, tenant_id, message_id)
        try:
            sent = await api.send(
                to=d.to,
                from_=d.account.from_number,
                whatsapp=d.account.whatsapp,
                body=d.body,
                status_callback=deliveries.status_callback_url(
                    runtime.settings.public_url, d.account.channel_id, message_id
                ),
                content_sid=(d.template or {}).get("content_sid"),
                content_variables=(d.template or {}).get("content_variables"),
            )
        except TwilioRestException as exc:
            text = f"Twilio refused the message ({exc.status}, code {exc.code}): {exc.msg}"
            if 400 <= exc.status < 500 and exc.status not in (408, 429):
                await _fail(ctx, message_id, str(exc.code or exc.status), text)
                raise PermanentFailure(text) from exc
            if ctx.last_attempt:
                await _fail(ctx, message_id, str(exc.code or exc.status), text)
            raise
        except httpx.HTTPError as exc:
            if ctx.last_attempt:
                await _fail(ctx, message_id, "unreachable", f"Twilio did not answer: {exc!r}")
            raise
    async with ctx.uow() as tx:
        await outbound.do_advance_status(
            tx, tenant_id, message_id, sent.status, external_id=sent.sid
        )


async def fetch_inbound_media(ctx: JobContext) -> None:
    """Fetch an inbound message's media into attachments and post them as the contact's
    message (external id: the MessageSid, or `<sid>:media` next to a text)."""
    tenant_id = ctx.principal.tenant_id
    p = ctx.payload
    settings = ctx.runtime.settings
    conversation_id, contact_id = str(p["conversation_id"]), str(p["contact_id"])
    system = Principal.system_actor(tenant_id)
    async with ctx.uow(write=False) as tx:
        if await outbound.find_by_external_id(tx, tenant_id, _kind_of(p), str(p["external_id"])):
            return  # posted by an earlier run
        account = await channels.twilio_account(
            tx.session, str(p["channel_id"]), server_secret=ctx.runtime.secret_key
        )
        contact = principal_for(await get_user(tx.session, system, contact_id))
    if account is None:
        raise PermanentFailure("the channel account is gone")
    quota = attachments.UnsentQuota(
        files=settings.attachment_max_unsent_files, bytes=settings.attachment_max_unsent_bytes
    )
    storage = storage_for(settings)
    ids: list[str] = []
    skipped: list[str] = []
    for i, item in enumerate(p["media"]):
        try:
            data, _declared = await fetch_media(
                str(item["url"]),
                account_sid=account.account_sid,
                auth_token=account.auth_token,
                api_base=settings.twilio_api_base,
                timeout_seconds=settings.twilio_timeout_seconds,
                max_bytes=settings.attachment_max_bytes,
            )
            prepared = await asyncio.get_running_loop().run_in_executor(
                None, partial(prepare, data, max_pixels=settings.attachment_max_image_pixels)
            )
        except (MediaTooLarge, AppError) as exc:  # too big, or a type we do not keep
            skipped.append(f"{item.get('content_type') or 'a file'} ({exc})")
            continue
        key = await storage.put(prepared.data)
        thumb = await storage.put(prepared.thumbnail) if prepared.thumbnail else None
        try:
            async with ctx.uow() as tx:
                recorded = await attachments.do_record_upload(
                    tx,
                    contact,
                    conversation_id,
                    filename=clean_filename(f"media-{i + 1}", prepared.content_type),
                    prepared=prepared,
                    storage_key=key,
                    thumbnail_key=thumb,
                    quota=quota,
                )
        except AppError as exc:  # the conversation ended meanwhile: retrying cannot help
            for stored in (key, thumb):
                if stored:
                    await storage.delete(stored)
            raise PermanentFailure(f"the media could not be kept: {exc.message}") from exc
        ids.append(recorded.id)
    body = "" if ids else "(media could not be kept)"
    if skipped:
        body = "Not kept: " + "; ".join(skipped)
    async with ctx.uow() as tx:
        request = messages.SendRequest(
            system,
            conversation_id,
            body[: settings.max_message_chars],
            channel=_kind_of(p),
            external_id=str(p["external_id"]),
            sender_id=contact_id,
            attachment_ids=tuple(ids),
        )
        [result] = await messages.do_send_messages(
            tx, [request], max_chars=settings.max_message_chars
        )
    if isinstance(result, AppError):
        raise PermanentFailure(f"the media could not be posted: {result.message}")


def _kind_of(payload: dict[str, object]) -> str:
    return str(payload.get("kind") or "whatsapp")


def register_with(registry: JobRegistry) -> None:
    """Run the Twilio jobs on this node (the runtime registers them on its own registry)."""
    registry.register(
        deliveries.SEND_JOB,
        send,
        max_attempts=6,
        backoff=Backoff(base_seconds=5, max_seconds=600),
        timeout_seconds=120,
    )
    registry.register(
        inbound.MEDIA_JOB,
        fetch_inbound_media,
        max_attempts=6,
        backoff=Backoff(base_seconds=5, max_seconds=600),
        timeout_seconds=300,
    )
