"""The inbox per channel in a real browser: conversations of two channels with their badges and
unread counts, the channel filter in the agent inbox and the admin console, a count rising live
when a message arrives, "via WhatsApp" on channel messages, and a voice note that plays."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from parlour.auth.principal import Principal
from parlour.conversations.schemas import ConversationRead
from parlour.messages.service import SendRequest, do_send_messages
from parlour.models.conversation import Channel
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests import factories
from tests.attachments.support import wav
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def _whatsapp_conversation(
    world: World, customer: Principal, agent: Principal, messages: list[str]
) -> ConversationRead:
    """A WhatsApp conversation joined by `agent`, with `messages` received from the customer
    (stored by the system actor, as the Twilio webhook does)."""

    async def make(rt: Runtime) -> ConversationRead:
        view = await factories.make_conversation(
            rt, customer, agent=agent, channel=Channel.whatsapp
        )
        system = Principal.system_actor(customer.tenant_id)
        requests = [
            SendRequest(
                system,
                view.id,
                body,
                channel="whatsapp",
                external_id=f"SM{view.id}{i}",
                sender_id=customer.user_id,
            )
            for i, body in enumerate(messages)
        ]
        async with rt.uow() as tx:
            for sent in await do_send_messages(tx, requests, max_chars=4000):
                assert not isinstance(sent, Exception), sent
        return view

    return world.run(make)


def test_channels_filter_counts_and_media(world: World) -> None:
    agent = world.user(Role.agent, "Alex Expert")
    admin = world.user(Role.admin, "Ada Admin")
    web_customer = world.user(Role.customer, "Wendy Web")
    wa_customer = world.user(Role.customer, "Walter WhatsApp")
    web = world.conversation(web_customer, agent=agent, subject="Web question")
    wa = _whatsapp_conversation(
        world, wa_customer, agent, ["Hello from my phone", "Are you there?"]
    )

    alex = world.page(agent, "/agent")
    web_item = alex.locator(f'#mine-list [data-conversation-id="{web.id}"]')
    wa_item = alex.locator(f'#mine-list [data-conversation-id="{wa.id}"]')
    expect(web_item.locator(".channel-badge")).to_have_text("Web")
    expect(wa_item.locator(".channel-badge")).to_have_text("WhatsApp")
    expect(wa_item.locator(".badge")).to_have_text("2")
    expect(web_item.locator(".badge")).to_be_hidden()
    channel = alex.get_by_label("Channel")
    expect(channel.locator('option[value="whatsapp"]')).to_have_text("WhatsApp (2 unread)")
    expect(channel.locator('option[value=""]')).to_have_text("All channels (2 unread)")

    # The filter keeps one channel's conversations.
    channel.select_option("whatsapp")
    expect(web_item).to_be_hidden()
    expect(wa_item).to_be_visible()
    channel.select_option("web")
    expect(wa_item).to_be_hidden()
    expect(web_item).to_be_visible()
    channel.select_option("")
    expect(wa_item).to_be_visible()

    # A message arriving raises the counts live: the conversation's and its channel's.
    world.say(web_customer, web.id, "Anyone?")
    expect(web_item.locator(".badge")).to_have_text("1")
    expect(channel.locator('option[value="web"]')).to_have_text("Web (1 unread)")
    expect(channel.locator('option[value=""]')).to_have_text("All channels (3 unread)")
    expect(alex).to_have_title("(3) Inbox · Parlour")

    # The admin console: badges and the filter there too.
    ada = world.page(admin, "/admin")
    web_row = ada.locator(f'#live-rows tr[data-conversation-id="{web.id}"]')
    wa_row = ada.locator(f'#live-rows tr[data-conversation-id="{wa.id}"]')
    expect(wa_row.locator(".channel-badge")).to_have_text("WhatsApp")
    expect(web_row.locator(".channel-badge")).to_have_text("Web")
    admin_channel = ada.get_by_label("Channel")
    admin_channel.select_option("whatsapp")
    expect(web_row).to_be_hidden()
    expect(wa_row).to_be_visible()
    admin_channel.select_option("")
    expect(web_row).to_be_visible()

    # The WhatsApp conversation says where its messages came from; opening it reads them.
    wa_item.get_by_role("link").click()
    messages = alex.get_by_role("list", name="Messages")
    received = messages.locator("li.msg").filter(has_text="Are you there?")
    expect(received.locator(".msg-via")).to_have_text("via WhatsApp")
    expect(wa_item.locator(".badge")).to_be_hidden()
    expect(channel.locator('option[value="whatsapp"]')).to_have_text("WhatsApp")

    # A voice note: uploaded by the customer, it plays in the agent's page.
    token = world.token(web_customer)
    with httpx.Client(
        base_url=world.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        made = http.post(
            "/api/v1/attachments",
            files={"file": ("voice-note.wav", wav(1.0), "application/octet-stream")},
            data={"conversation_id": web.id},
        )
        assert made.status_code == 201, made.text
        assert made.json()["content_type"] == "audio/wav"
        sent = http.post(
            f"/api/v1/conversations/{web.id}/messages",
            json={"body": "Listen to this", "attachment_ids": [made.json()["id"]]},
        )
        assert sent.status_code == 201, sent.text
    web_item.get_by_role("link").click()
    audio = alex.get_by_role("list", name="Messages").locator("audio.msg-audio")
    expect(audio).to_have_count(1)
    assert (audio.get_attribute("src") or "").startswith("/api/v1/attachments/")
    # Loaded by the browser (its metadata: a duration), with no media error.
    alex.wait_for_function(
        "a => a.readyState >= 1 && a.error === null && a.duration > 0.9",
        arg=audio.element_handle(),
    )
    assert alex.evaluate("a => a.error", audio.element_handle()) is None
