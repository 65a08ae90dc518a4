"""The search box of the agent inbox and the admin console, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from parlour.models.user import Role
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def test_agent_finds_a_message_and_opens_the_conversation_at_it(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    stranger = world.user(Role.customer, "Sam Stranger")
    agent = world.user(Role.agent, "Alex Expert")
    mine = world.conversation(customer, agent=agent, subject="Gearbox")
    theirs = world.conversation(stranger, subject="Not for Alex")
    world.seed_messages(customer, mine.id, ["Hello there"] + [f"filler {i}" for i in range(5)])
    found = world.say(customer, mine.id, '<img src=x onerror="alert(1)"> the zanzibar gear slips')
    world.say(customer, mine.id, "thanks")
    world.say(stranger, theirs.id, "zanzibar is also in a conversation Alex cannot read")

    alex = world.page(agent, "/agent")
    search = alex.get_by_role("search")
    search.get_by_label("Search messages and conversations").fill("zanz*")
    search.get_by_role("button", name="Search").click()
    hits = alex.locator("#search-list > li")
    expect(hits).to_have_count(1)
    hit = hits.first
    expect(hit.locator("mark")).to_have_text("zanzibar")
    # The message's markup is shown as text, never made into an element.
    expect(hit).to_contain_text('<img src=x onerror="alert(1)"> the zanzibar gear slips')
    expect(hit.locator("img")).to_have_count(0)
    expect(hit).to_contain_text("Casey Customer · Gearbox")
    expect(alex.locator("#search-status")).to_have_text("1 found")

    hit.get_by_role("link").click()
    expect(alex).to_have_url(re.compile(rf"/agent\?c={mine.id}#seq-{found['seq']}$"))
    target = alex.locator(f'ol[aria-label="Messages"] > li[data-seq="{found["seq"]}"]')
    expect(target).to_have_class(re.compile(r"\bmsg-found\b"))
    expect(target).to_be_in_viewport()


def test_admin_console_searches_the_whole_tenant(world: World) -> None:
    """Messages of conversations that have ended or that the admin takes part in: reading
    those records nothing (an open one elsewhere would be a silent read, docs/search.md)."""
    customer = world.user(Role.customer, "Quinn Quartz")
    other = world.user(Role.customer, "Olly Other")
    agent = world.user(Role.agent, "Alex Expert")
    admin = world.user(Role.admin, "Ada Admin")
    first = world.conversation(customer, agent=agent, subject="Quokka invoice")
    second = world.conversation(other, agent=admin, subject="Delivery")
    world.say(customer, first.id, "my quokka invoice is wrong")
    said = world.say(other, second.id, "a quokka ate the parcel")
    with world.api(agent) as http:
        assert http.post(f"/api/v1/conversations/{first.id}/end", json={}).status_code == 200

    ada = world.page(admin, "/admin")
    search = ada.get_by_role("search")
    search.get_by_label("Search messages and conversations").fill("quokka")
    search.get_by_role("button", name="Search").click()
    hits = ada.locator("#search-list > li")
    # The conversation by its subject (with its customer, for staff), then both messages.
    expect(hits).to_have_count(3)
    expect(hits.nth(0)).to_contain_text("Quokka invoice")
    expect(hits.nth(0)).to_contain_text("Quinn Quartz")
    expect(ada.locator("#search-list mark")).to_have_count(3)
    nothing = ada.get_by_label("Search messages and conversations")
    nothing.fill('"" *')
    search.get_by_role("button", name="Search").click()
    expect(ada.locator("#search-status")).to_have_text("Type a word to search for.")

    nothing.fill("quokka parcel")
    search.get_by_role("button", name="Search").click()
    expect(hits).to_have_count(1)
    hits.first.get_by_role("link").click()
    expect(ada).to_have_url(re.compile(rf"/chat/{second.id}#seq-{said['seq']}$"))
    target = ada.locator(f'ol[aria-label="Messages"] > li[data-seq="{said["seq"]}"]')
    expect(target).to_have_class(re.compile(r"\bmsg-found\b"))
