"""Replies out through Twilio, against the stand-in (tests/channels/twilio_standin.py: a
local HTTP server speaking Twilio's Messages API, since Twilio itself is out of reach):
success, 500s then success (one message), a timeout after Twilio accepted (no second
message), a permanent 4xx (`failed`, visible, retryable); status callbacks that never move a
status back; WhatsApp's 24-hour window and templates."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from parlour.core.clock import FrozenClock
from parlour.models import Job, Message
from parlour.runtime import Runtime
from tests.api.support import World, assert_error
from tests.channels.support import (
    CUSTOMER,
    messages_path,
    post_signed,
    status_path,
    twilio_form,
)
from tests.channels.twilio_standin import TwilioStandIn
from tests.factories import auth
from tests.jobs.conftest import eventually

TEMPLATE = {
    "name": "Follow up",
    "content_sid": "HX" + "b" * 32,
    "body": "Hello {{1}}, any news on your order?",
    "variables": ["1"],
}


async def _conversation(http: httpx.AsyncClient, rt: Runtime, channel_id: str, cast: World) -> str:
    """An inbound message's conversation, joined by the world's agent."""
    r = await post_signed(http, messages_path(channel_id), twilio_form("SM" + "9" * 32, "Hi"))
    assert r.status_code == 200
    async with rt.uow(write=False) as tx:
        cid = await tx.session.scalar(select(Message.conversation_id).where(Message.seq > 0))
    assert cid is not None
    joined = await http.post(f"/api/v1/conversations/{cid}/join", headers=cast.headers["agent"])
    assert joined.status_code == 200, joined.text
    return str(cid)


async def _reply(http: httpx.AsyncClient, cast: World, cid: str, body: str) -> httpx.Response:
    return await http.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"body": body, "client_msg_id": body[:60].replace(" ", "-").strip("?!")},
        headers=cast.headers["agent"],
    )


def _refresh_tokens(rt: Runtime, cast: World) -> None:
    """New tokens after the clock moved past the old ones' expiry."""
    for who in ("customer", "agent", "other_agent", "admin", "foreign_admin"):
        cast.headers[who] = auth(rt, getattr(cast, who))


async def _message(rt: Runtime, message_id: str) -> Message:
    async with rt.uow(write=False) as tx:
        found = await tx.session.get(Message, message_id)
    assert found is not None
    return found


def _status_is(rt: Runtime, message_id: str, status: str):  # type: ignore[no-untyped-def]
    async def check() -> Message | None:
        m = await _message(rt, message_id)
        return m if m.delivery_status == status else None

    return check


async def _send_jobs(rt: Runtime) -> list[Job]:
    async with rt.uow(write=False) as tx:
        return list(await tx.session.scalars(select(Job).where(Job.kind == "twilio.send")))


async def test_a_reply_goes_out_once_and_statuses_only_move_forward(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str, cast: World, standin: TwilioStandIn
) -> None:
    cid = await _conversation(http, twilio_rt, whatsapp, cast)
    r = await _reply(http, cast, cid, "Your order ships today")
    assert r.status_code == 201, r.text
    assert (r.json()["channel"], r.json()["delivery_status"]) == ("whatsapp", "queued")
    mid = r.json()["id"]

    async def at_twilio() -> Message | None:
        m = await _message(twilio_rt, mid)
        return m if m.external_id else None

    sent = await eventually(at_twilio, what="the send")
    [out] = standin.messages
    assert (out.to, out.from_, out.body) == (
        f"whatsapp:{CUSTOMER}",
        "whatsapp:+14155550100",
        "Your order ships today",
    )
    assert sent.external_id == out.sid and sent.delivery_status == "queued"
    assert out.status_callback == f"http://testserver{status_path(whatsapp)}?message_id={mid}"

    # Callbacks, signed for the URL Twilio was given, arriving out of order.
    path = f"{status_path(whatsapp)}?message_id={mid}"
    for status in ("delivered", "sent", "queued"):
        form = {"MessageSid": out.sid, "MessageStatus": status, "AccountSid": standin.account_sid}
        assert (await post_signed(http, path, form)).status_code == 200
        assert (await _message(twilio_rt, mid)).delivery_status == "delivered"
    form = {"MessageSid": out.sid, "MessageStatus": "read", "AccountSid": standin.account_sid}
    assert (await post_signed(http, path, form)).status_code == 200
    assert (await _message(twilio_rt, mid)).delivery_status == "read"
    # A forged callback changes nothing.
    forged = {**form, "MessageStatus": "failed"}
    assert_error(await post_signed(http, path, forged, signed_params=form), 403)
    history = await http.get(f"/api/v1/conversations/{cid}/messages", headers=cast.headers["agent"])
    shown = {m["id"]: m for m in history.json()["messages"]}
    assert shown[mid]["delivery_status"] == "read"
    assert standin.creates == 1


async def test_server_errors_are_retried_and_one_message_is_sent(
    http: httpx.AsyncClient,
    twilio_rt: Runtime,
    whatsapp: str,
    cast: World,
    standin: TwilioStandIn,
    clock: FrozenClock,
) -> None:
    cid = await _conversation(http, twilio_rt, whatsapp, cast)
    standin.fail_next = [500, 503]
    mid = (await _reply(http, cast, cid, "Second try")).json()["id"]
    for expected in (1, 2):
        await eventually(lambda n=expected: _creates_at_least(standin, n), what="an attempt")
        await eventually(lambda: _queued_again(twilio_rt), what="the backoff")
        clock.advance(minutes=15)
    await eventually(_status_is(twilio_rt, mid, "queued"), what="the send")

    async def recorded() -> bool:
        return (await _message(twilio_rt, mid)).external_id is not None

    await eventually(recorded, what="the SID")
    assert standin.creates == 3 and len(standin.messages) == 1
    job = await eventually(lambda: _job_done(twilio_rt), what="the job to finish")
    assert job.attempts == 3


async def _job_done(rt: Runtime) -> Job | None:
    [job] = await _send_jobs(rt)
    return job if job.status == "done" else None


async def _creates_at_least(standin: TwilioStandIn, n: int) -> bool:
    return standin.creates >= n


async def _queued_again(rt: Runtime) -> bool:
    jobs = await _send_jobs(rt)
    return bool(jobs) and jobs[0].status == "queued" and jobs[0].attempts > 0


async def test_a_timeout_after_twilio_accepted_sends_no_second_message(
    http: httpx.AsyncClient,
    twilio_rt: Runtime,
    whatsapp: str,
    cast: World,
    standin: TwilioStandIn,
    clock: FrozenClock,
) -> None:
    cid = await _conversation(http, twilio_rt, whatsapp, cast)
    standin.hang_after_accept = 3.0  # the client gives up after 1 s
    mid = (await _reply(http, cast, cid, "Are you there?")).json()["id"]
    await eventually(lambda: _queued_again(twilio_rt), what="the timed-out attempt")
    assert len(standin.messages) == 1 and (await _message(twilio_rt, mid)).external_id is None
    clock.advance(minutes=15)

    async def recorded() -> Message | None:
        m = await _message(twilio_rt, mid)
        return m if m.external_id else None

    found = await eventually(recorded, what="the retry's lookup")
    assert found.external_id == standin.messages[0].sid
    assert standin.creates == 1 and len(standin.messages) == 1
    job = await eventually(lambda: _job_done(twilio_rt), what="the job to finish")
    assert job.attempts == 2


async def test_a_permanent_refusal_fails_visibly_and_can_be_retried(
    http: httpx.AsyncClient, twilio_rt: Runtime, whatsapp: str, cast: World, standin: TwilioStandIn
) -> None:
    cid = await _conversation(http, twilio_rt, whatsapp, cast)
    standin.refuse = (400, 63016, "Outside the allowed window")
    mid = (await _reply(http, cast, cid, "Hello again")).json()["id"]
    failed = await eventually(_status_is(twilio_rt, mid, "failed"), what="the failure")
    assert failed.meta is not None and failed.meta["delivery"]["error_code"] == "63016"

    async def job_failed() -> Job | None:
        [job] = await _send_jobs(twilio_rt)
        return job if job.status == "failed" else None

    job = await eventually(job_failed, what="the job to fail")
    assert job.attempts == 1  # not retried: it cannot help
    history = await http.get(f"/api/v1/conversations/{cid}/messages", headers=cast.headers["agent"])
    shown = {m["id"]: m for m in history.json()["messages"]}
    assert shown[mid]["delivery_status"] == "failed"
    assert "63016" in json.dumps(shown[mid]["meta"])

    retry = f"/api/v1/conversations/{cid}/messages/{mid}/retry"
    # Who may not: the customer's side has no credentials here; another tenant's admin, a
    # colleague not in the conversation.
    for who in ("foreign_admin", "other_agent"):
        assert_error(await http.post(retry, headers=cast.headers[who]), 404)
    standin.refuse = None
    assert (await http.post(retry, headers=cast.headers["agent"])).status_code == 202
    await eventually(_status_is(twilio_rt, mid, "queued"), what="the requeue")

    async def recorded() -> bool:
        return (await _message(twilio_rt, mid)).external_id is not None

    await eventually(recorded, what="the resend")
    assert standin.creates == 2 and len(standin.messages) == 1
    # Sent now: a second retry is refused.
    assert_error(await http.post(retry, headers=cast.headers["agent"]), 409, "not_retryable")


async def test_outside_the_24_hour_window_only_templates_go_out(
    http: httpx.AsyncClient,
    twilio_rt: Runtime,
    whatsapp: str,
    cast: World,
    standin: TwilioStandIn,
    clock: FrozenClock,
) -> None:
    await http.patch(
        f"/api/v1/channels/{whatsapp}",
        json={"templates": [TEMPLATE]},
        headers=cast.headers["admin"],
    )
    cid = await _conversation(http, twilio_rt, whatsapp, cast)
    info = await http.get(f"/api/v1/conversations/{cid}/channel", headers=cast.headers["agent"])
    assert info.status_code == 200 and info.json()["window_open"] is True
    clock.advance(hours=24, seconds=1)
    _refresh_tokens(twilio_rt, cast)
    refused = await _reply(http, cast, cid, "Still there?")
    assert_error(refused, 409, "whatsapp_window_closed")
    info = await http.get(f"/api/v1/conversations/{cid}/channel", headers=cast.headers["agent"])
    assert info.json()["window_open"] is False
    assert [t["content_sid"] for t in info.json()["templates"]] == [TEMPLATE["content_sid"]]

    url = f"/api/v1/conversations/{cid}/channel/template"
    unknown = {"content_sid": "HX" + "c" * 32, "variables": {"1": "Cliff"}}
    assert_error(await http.post(url, json=unknown, headers=cast.headers["agent"]), 400)
    missing = {"content_sid": TEMPLATE["content_sid"]}
    assert_error(await http.post(url, json=missing, headers=cast.headers["agent"]), 400)
    body = {"content_sid": TEMPLATE["content_sid"], "variables": {"1": "Cliff"}}
    for who in ("customer", "other_agent", "foreign_admin"):
        r = await http.post(url, json=body, headers=cast.headers[who])
        assert r.status_code in (403, 404), (who, r.text)
    sent = await http.post(url, json=body, headers=cast.headers["agent"])
    assert sent.status_code == 201, sent.text
    assert sent.json()["body"] == "Hello Cliff, any news on your order?"

    async def at_twilio() -> bool:
        return len(standin.messages) == 1

    await eventually(at_twilio, what="the template send")
    [out] = standin.messages
    assert out.content_sid == TEMPLATE["content_sid"]
    assert json.loads(out.content_variables or "{}") == {"1": "Cliff"}
    # A new message from the customer opens the window again.
    r = await post_signed(http, messages_path(whatsapp), twilio_form("SM" + "8" * 32, "Yes!"))
    assert r.status_code == 200
    assert (await _reply(http, cast, cid, "Great")).status_code == 201


@pytest.mark.parametrize("kind", ["sms"])
async def test_sms_has_no_window(
    http: httpx.AsyncClient,
    twilio_rt: Runtime,
    cast: World,
    standin: TwilioStandIn,
    clock: FrozenClock,
    kind: str,
) -> None:
    from tests.channels.support import twilio_channel_id

    sms = await twilio_channel_id(http, cast, kind=kind, from_number="+14155550199")
    r = await post_signed(
        http, messages_path(sms), twilio_form("SM" + "7" * 32, "Hi", From=CUSTOMER)
    )
    assert r.status_code == 200
    async with twilio_rt.uow(write=False) as tx:
        cid = await tx.session.scalar(select(Message.conversation_id).where(Message.seq > 0))
    await http.post(f"/api/v1/conversations/{cid}/join", headers=cast.headers["agent"])
    clock.advance(days=3)
    _refresh_tokens(twilio_rt, cast)
    assert (await _reply(http, cast, str(cid), "Late answer")).status_code == 201

    async def at_twilio() -> bool:
        return len(standin.messages) == 1

    await eventually(at_twilio, what="the SMS")
    assert (standin.messages[0].to, standin.messages[0].from_) == (CUSTOMER, "+14155550199")
