"""WhatsApp in a real browser, against a real server whose Twilio is the stand-in
(tests/channels/twilio_standin.py: a local HTTP server speaking Twilio's Messages API, since
Twilio cannot be reached from here): an inbound message, signed with the twilio library's
validator, appears live in the agent's inbox; the agent's reply reaches the stand-in; the
delivery status moves to "Delivered" on the page when the signed status callback arrives."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from parlour.config import Settings
from parlour.models.user import Role
from tests.channels.support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    messages_path,
    sign,
    status_path,
    twilio_form,
)
from tests.channels.twilio_standin import TwilioStandIn
from tests.e2e.conftest import World
from tests.system.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.e2e

ITEMS = 'ol[aria-label="Messages"] > li'


@pytest.fixture(scope="module")
def standin() -> Iterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def twilio_settings(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Settings:
    folder = tmp_path_factory.mktemp("e2e-twilio")
    shutil.copy(sqlite_template, folder / "parlour.db")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{folder / 'parlour.db'}",
        data_dir=folder / "data",
        secret_key="e2e-twilio-secret-key-long-enough-for-hs256",
    )


@pytest.fixture(scope="module")
def twilio_server(
    twilio_settings: Settings, standin: TwilioStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    log = tmp_path_factory.mktemp("e2e-twilio-log") / "server.log"
    live = start_server(
        twilio_settings,
        log,
        PARLOUR_TWILIO_API_BASE=standin.base_url,
        PARLOUR_JOB_POLL_SECONDS="0.2",
    )
    try:
        yield live
    finally:
        stop_server(live)


@pytest.fixture
def tworld(
    twilio_settings: Settings, twilio_server: LiveServer, browser: Browser
) -> Iterator[World]:
    w = World(settings=twilio_settings, server=twilio_server, browser=browser)
    try:
        yield w
    finally:
        for context in w.contexts:
            context.close()
    assert w.page_errors == [], w.page_errors
    assert w.dialogs == [], w.dialogs


def _post_signed(url: str, params: dict[str, str]) -> httpx.Response:
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": sign(url, params)})


def test_whatsapp_in_and_out_with_a_live_delivery_status(
    tworld: World, standin: TwilioStandIn
) -> None:
    admin = tworld.user(Role.admin, "Ada Admin")
    agent = tworld.user(Role.agent, "Alex Agent")
    with tworld.api(admin) as http:
        made = http.post(
            "/api/v1/channels",
            json={
                "kind": "whatsapp",
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": "+14155550100",
            },
        )
    assert made.status_code == 201, made.text
    channel = made.json()["id"]

    alex = tworld.page(agent, "/agent")
    expect(alex.locator("#queue-empty")).to_be_visible()
    url = tworld.server.url + messages_path(channel)
    inbound = _post_signed(url, twilio_form("SM" + "4" * 32, "Is my bike ready?"))
    assert inbound.status_code == 200 and inbound.text.endswith("<Response/>")

    # Live in the queue, with the customer's WhatsApp name.
    queued = alex.locator("#queue-list .conv-item")
    expect(queued).to_have_count(1)
    queued.get_by_role("button", name="Join").click()
    item = alex.locator("#mine-list .conv-item")
    expect(item).to_have_count(1)
    item.get_by_role("link").click()
    expect(alex.locator(ITEMS).filter(has_text="Is my bike ready?")).to_have_count(1)

    composer = alex.get_by_role("textbox", name="Message", exact=True)
    expect(composer).to_be_editable()  # the room has loaded (a loaded box takes a while)
    composer.fill("Yes, come by after 4")
    alex.get_by_role("button", name="Send", exact=True).click()
    expect(composer).to_have_value("")  # the send was acknowledged
    reply = alex.locator(ITEMS).filter(has_text="Yes, come by after 4")
    expect(reply).to_have_count(1, timeout=15_000)
    expect(reply.locator(".msg-delivery")).to_have_attribute("data-status", "queued")
    deadline = time.monotonic() + 20
    while not standin.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    [out] = standin.messages
    assert (out.to, out.body) == ("whatsapp:+447700900123", "Yes, come by after 4")

    # Twilio reports it delivered (signed, to the status URL): the page shows it.
    status_url = tworld.server.url + status_path(channel)
    form = {"MessageSid": out.sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    deadline = time.monotonic() + 20
    while True:  # the send job records the SID just after Twilio answers
        answer = _post_signed(status_url, form)
        assert answer.status_code == 200
        history = tworld.history(agent, _conversation_of(tworld, agent))
        if any(m.get("delivery_status") == "delivered" for m in history):
            break
        assert time.monotonic() < deadline, history
        time.sleep(0.2)
    expect(reply.locator(".msg-delivery")).to_have_attribute("data-status", "delivered")
    expect(reply.locator(".msg-delivery")).to_have_text("Delivered")


def _conversation_of(world: World, agent: object) -> str:
    with world.api(agent) as http:  # type: ignore[arg-type]
        listed = http.get("/api/v1/conversations").json()
    return str(listed["conversations"][0]["id"])


def test_a_refused_reply_shows_failed_with_retry_in_the_conversation_and_the_console(
    tworld: World, standin: TwilioStandIn
) -> None:
    admin = tworld.user(Role.admin, "Ada Admin")
    agent = tworld.user(Role.agent, "Alex Agent")
    with tworld.api(admin) as http:
        made = http.post(
            "/api/v1/channels",
            json={
                "kind": "sms",
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": "+14155550177",
            },
        )
    assert made.status_code == 201, made.text
    channel = made.json()["id"]
    url = tworld.server.url + messages_path(channel)
    form = twilio_form("SM" + "6" * 32, "Can I pay by card?", From="+447700900555")
    assert _post_signed(url, form).status_code == 200

    alex = tworld.page(agent, "/agent")
    queued = alex.locator("#queue-list .conv-item")
    expect(queued).to_have_count(1)
    queued.get_by_role("button", name="Join").click()
    alex.locator("#mine-list .conv-item").get_by_role("link").click()
    standin.refuse = (400, 21610, "Attempt to send to unsubscribed recipient")
    sent_before = standin.creates
    composer = alex.get_by_role("textbox", name="Message", exact=True)
    expect(composer).to_be_editable()  # the room has loaded (a loaded box takes a while)
    composer.fill("Yes we can")
    alex.get_by_role("button", name="Send", exact=True).click()
    expect(composer).to_have_value("")  # the send was acknowledged
    reply = alex.locator(ITEMS).filter(has_text="Yes we can")
    badge = reply.locator(".msg-delivery")
    expect(badge).to_have_attribute("data-status", "failed", timeout=20_000)
    expect(badge).to_contain_text("Failed")

    # The admin console lists the failed send with its own Retry.
    ada = tworld.page(admin, "/admin")
    failed = ada.locator("#failed-jobs li").filter(has_text="WhatsApp/SMS reply")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("21610")
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()

    # Retry from the conversation once the recipient can be reached again.
    standin.refuse = None
    badge.get_by_role("button", name="Retry").click()
    expect(badge).to_have_attribute("data-status", "queued", timeout=20_000)
    deadline = time.monotonic() + 20
    while not any(m.body == "Yes we can" for m in standin.messages):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert standin.creates == sent_before + 2
    assert [m.body for m in standin.messages].count("Yes we can") == 1
