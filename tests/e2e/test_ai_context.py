"""The AI context in a real browser: the agent's open conversation shows its summary at the
top, and suggested replies (from an OpenAI-compatible stand-in, tests/ai/stand_in.py: a local
HTTP server speaking the chat-completions format) appear as buttons that fill the composer and
send nothing until the agent presses Send."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from parlour.models.user import Role
from tests.ai import stand_in as si
from tests.api.support import set_tenant_settings
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def test_summary_and_suggested_replies(world: World, ai_stand_in: si.StandIn) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, agent=agent, subject="Grinding brakes")
    with world.api(customer) as http:
        sent = http.post(
            f"/api/v1/conversations/{conversation.id}/messages",
            json={"body": "My car makes a grinding noise when I brake at low speed."},
        )
        assert sent.status_code == 201, sent.text
    world.run(lambda rt: set_tenant_settings(rt, None, ai_provider="openai"))
    try:
        alex = world.page(agent, f"/agent?c={conversation.id}")
        panel = alex.get_by_role("region", name="Context summary")
        expect(panel).to_be_visible()
        panel.get_by_role("button", name="Refresh").click()
        expect(panel).to_contain_text(si.SUMMARY_ANSWER, timeout=15_000)

        alex.get_by_role("button", name="Suggest replies").click()
        replies = json.loads(si.SUGGESTIONS_ANSWER)
        pick = alex.get_by_role("button", name=replies[0])
        expect(pick).to_be_visible()
        messages = alex.get_by_role("list", name="Messages")
        before = messages.locator("li").count()
        pick.click()
        box = alex.get_by_role("textbox", name="Message", exact=True)
        expect(box).to_have_value(replies[0])
        assert messages.locator("li").count() == before  # nothing sent by the click
        alex.get_by_role("button", name="Send", exact=True).click()
        expect(messages).to_contain_text(replies[0])
        expect(box).to_have_value("")
    finally:
        world.run(lambda rt: set_tenant_settings(rt, None, ai_provider=None))
