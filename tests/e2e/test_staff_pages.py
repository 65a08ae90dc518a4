"""The agent inbox and the admin console in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from parlour.models.user import Role
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

ITEMS = 'ol[aria-label="Messages"] > li'


def test_inbox_unread_count_rises_live_and_clears_on_open(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, agent=agent, subject="Gears grind")
    alex = world.page(agent, "/agent")
    item = alex.locator(f'#mine-list [data-conversation-id="{conversation.id}"]')
    expect(item).to_contain_text("Gears grind")
    badge = item.locator(".badge")
    expect(badge).to_be_hidden()

    world.say(customer, conversation.id, "They grind in third gear")
    world.say(customer, conversation.id, "and in fourth")
    expect(badge).to_have_text("2")
    expect(badge).to_have_attribute("aria-label", "2 unread")
    expect(item).to_contain_text("and in fourth")
    expect(alex).to_have_title("(2) Inbox · Parlour")

    # A new customer waiting shows up in the queue, live.
    newcomer = world.user(Role.customer, "Nia Newcomer")
    with world.api(newcomer) as http:
        created = http.post("/api/v1/conversations", json={"subject": "Wobbly wheel"})
    assert created.status_code == 201
    queued = alex.locator(f'#queue-list [data-conversation-id="{created.json()["id"]}"]')
    expect(queued).to_contain_text("Nia Newcomer")
    expect(queued.get_by_role("button", name="Join")).to_be_visible()

    # Opening the conversation reads it: the count clears, and stays cleared after a reload.
    item.get_by_role("link").click()
    expect(alex.get_by_role("list", name="Messages").get_by_text("and in fourth")).to_be_visible()
    expect(badge).to_be_hidden()
    expect(alex).to_have_title("Inbox · Parlour")
    # While it is open, new messages are read as they arrive.
    world.say(customer, conversation.id, "also some clicking")
    expect(alex.locator(ITEMS).filter(has_text="also some clicking")).to_have_count(1)
    alex.reload()
    item = alex.locator(f'#mine-list [data-conversation-id="{conversation.id}"]')
    expect(item).to_contain_text("also some clicking")
    expect(item.locator(".badge")).to_be_hidden()


def test_admin_assigns_observes_read_only_and_ends(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    admin = world.user(Role.admin, "Ada Admin")
    conversation = world.conversation(customer, subject="Needs a hand")
    casey = world.page(customer, f"/chat/{conversation.id}")
    ada = world.page(admin, "/admin")
    row = ada.locator(f'tr[data-conversation-id="{conversation.id}"]')
    expect(row).to_contain_text("Needs a hand")
    expect(row).to_contain_text("Waiting")

    # A conversation opened meanwhile appears live.
    other = world.user(Role.customer, "Olu Other")
    with world.api(other) as http:
        created = http.post("/api/v1/conversations", json={"subject": "Second in line"})
    expect(ada.locator(f'tr[data-conversation-id="{created.json()["id"]}"]')).to_be_visible()

    row.get_by_role("combobox").select_option(value=agent.user_id)
    row.get_by_role("button", name="Assign").click()
    expect(row).to_contain_text("Alex Expert (agent)")
    expect(row).to_contain_text("Active")
    expect(casey.get_by_text("Alex Expert was assigned to the conversation.")).to_be_visible()

    # Observing: read-only, live, and the participants are told (the default tenant setting).
    row.get_by_role("button", name="Observe").click()
    expect(ada).to_have_url(f"{world.server.url}/chat/{conversation.id}")
    expect(ada.get_by_text("You are observing. This conversation is read-only.")).to_be_visible()
    expect(ada.get_by_role("textbox", name="Message", exact=True)).to_have_count(0)
    expect(ada.get_by_role("button", name="Send", exact=True)).to_have_count(0)
    expect(casey.get_by_text("Ada Admin is observing the conversation.")).to_be_visible()
    world.say(customer, conversation.id, "Is anyone there?")
    world.say(agent, conversation.id, "Yes, I am here")
    expect(ada.locator(ITEMS).filter(has_text="Yes, I am here")).to_have_count(1)
    expect(ada.locator(ITEMS).filter(has_text="Is anyone there?")).to_have_count(1)

    # The admin ends it; the customer's composer closes with the reason.
    ada.get_by_role("button", name="End conversation").first.click()
    ada.get_by_role("dialog").get_by_role("button", name="End conversation").click()
    expect(ada.get_by_text("This conversation has ended.")).to_be_visible()
    expect(casey.get_by_role("textbox", name="Message", exact=True)).to_be_disabled()
    expect(casey.get_by_text("An administrator ended the conversation.")).to_be_visible()

    # From the console: ending removes the row.
    ada.goto(world.server.url + "/admin")
    expect(ada.locator(f'tr[data-conversation-id="{conversation.id}"]')).to_have_count(0)
    second = ada.locator(f'tr[data-conversation-id="{created.json()["id"]}"]')
    second.get_by_role("button", name="End").click()
    ada.get_by_role("dialog").get_by_role("button", name="End conversation").click()
    expect(second).to_have_count(0)


# routing
def test_availability_switch_routes_new_conversations_live(world: World) -> None:
    agent = world.user(Role.agent, "Robin Router")
    customer = world.user(Role.customer, "Wren Waiting")
    # Room for what earlier tests left waiting in the shared database, and for ours.
    with world.api(world.user(Role.admin, "Ada Admin")) as http:
        room = http.patch(f"/api/v1/users/{agent.user_id}", json={"capacity": 100})
    assert room.status_code == 200
    robin = world.page(agent, "/agent")
    switch = robin.get_by_label("Status")
    expect(switch).to_be_enabled()
    expect(switch).to_have_value("offline")
    switch.select_option("online")
    expect(robin.locator("#availability-load")).to_contain_text("of 100 active")
    try:
        with world.api(customer) as http:
            created = http.post("/api/v1/conversations", json={"subject": "Routed to Robin"})
        assert created.status_code == 201
        cid = created.json()["id"]
        # Assigned at once, and it shows in the inbox live.
        mine = robin.locator(f'#mine-list [data-conversation-id="{cid}"]')
        expect(mine).to_contain_text("Wren Waiting")
    finally:
        # Offline again (the browser tests share one database): unanswered work goes back.
        switch.select_option("offline")
    expect(robin.locator(f'#queue-list [data-conversation-id="{cid}"]')).to_be_visible()
    expect(robin.locator("#availability-load")).to_have_text("0 of 100 active")
