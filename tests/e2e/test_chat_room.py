"""The chat room in a real browser: live messages both ways, typing, receipts, ending, markup
that stays text, and no message lost across a reload or a dropped connection."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from parlour.models.user import Role
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

ITEMS = 'ol[aria-label="Messages"] > li'


def transcript(page: Page) -> list[tuple[int, str]]:
    """(seq, text) of every message on screen, in screen order."""
    rows: list[list[Any]] = page.evaluate(
        """sel => Array.from(document.querySelectorAll(sel),
            li => [Number(li.dataset.seq), li.querySelector('.msg-body').textContent])""",
        ITEMS,
    )
    return [(int(seq), str(text)) for seq, text in rows]


def assert_whole(page: Page, world: World, reader: Any, conversation_id: str) -> None:
    """The page shows the stored conversation exactly: every seq once, in order, no gaps."""
    stored = [(m["seq"], m["body"]) for m in world.history(reader, conversation_id)]
    shown = transcript(page)
    assert shown == stored


def composer(page: Page) -> Any:
    return page.get_by_role("textbox", name="Message", exact=True)


def test_customer_and_agent_talk_live(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, subject="Flat tyre")
    casey = world.page(customer, f"/chat/{conversation.id}")
    expect(casey.get_by_text("Waiting for an expert to join")).to_be_visible()

    alex = world.page(agent, "/agent")
    waiting = alex.locator(f'[data-conversation-id="{conversation.id}"]')
    # The queue shows who is waiting, not what they wrote (the agent may not read it yet).
    expect(waiting).to_contain_text("Casey Customer")
    expect(waiting).not_to_contain_text("Flat tyre")
    waiting.get_by_role("button", name="Join").click()
    expect(alex.get_by_role("heading", name="Flat tyre")).to_be_visible()

    # The customer learns who joined, live.
    expect(casey.get_by_text("Alex Expert joined the conversation.")).to_be_visible()
    expect(casey.get_by_text("With Alex Expert")).to_be_visible()
    expect(casey.get_by_text("Waiting for an expert to join")).to_be_hidden()

    # Typing shows on the other side; Shift+Enter is a new line, Enter sends.
    box = composer(casey)
    box.press_sequentially("Hello")
    expect(alex.get_by_text("Casey Customer is typing…")).to_be_visible()
    box.press("Shift+Enter")
    box.press_sequentially("the front one is flat")
    box.press("Enter")
    expect(box).to_have_value("")
    alex_list = alex.get_by_role("list", name="Messages")
    expect(alex_list.get_by_text("the front one is flat")).to_be_visible()
    expect(alex.get_by_text("Casey Customer is typing…")).to_be_hidden()
    sent = casey.locator(f"{ITEMS}.msg-own .msg-body").last
    assert sent.evaluate("n => n.textContent") == "Hello\nthe front one is flat"

    # The agent answers with the button; the customer sees it on the other side, named.
    composer(alex).fill("Do you have a pump?")
    alex.get_by_role("button", name="Send", exact=True).click()
    reply = casey.locator(f"{ITEMS}.msg-other", has_text="Do you have a pump?")
    expect(reply).to_be_visible()
    expect(reply).to_contain_text("Alex Expert")
    mine = casey.locator(f"{ITEMS}.msg-own .msg-bubble").last.bounding_box()
    theirs = reply.locator(".msg-bubble").bounding_box()
    assert mine is not None and theirs is not None
    assert mine["x"] > theirs["x"] and mine["x"] + mine["width"] > theirs["x"] + theirs["width"]

    # Read receipts: each side sees its own last message "Seen".
    expect(casey.locator(f"{ITEMS}.msg-own .msg-seen")).to_have_text("Seen")
    expect(alex.locator(f"{ITEMS}.msg-own .msg-seen")).to_have_text("Seen")
    assert_whole(casey, world, customer, conversation.id)
    assert_whole(alex, world, agent, conversation.id)


def test_ending_disables_the_customers_composer_and_says_why(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, agent=agent, subject="Done soon")
    casey = world.page(customer, f"/chat/{conversation.id}")
    expect(composer(casey)).to_be_enabled()

    alex = world.page(agent, f"/agent?c={conversation.id}")
    expect(alex.get_by_role("heading", name="Done soon")).to_be_visible()
    alex.get_by_role("button", name="End conversation").first.click()
    alex.get_by_role("dialog").get_by_role("button", name="End conversation").click()

    expect(casey.get_by_role("status").filter(has_text="has ended")).to_have_text(
        "This conversation has ended. Alex Expert ended the conversation."
    )
    expect(composer(casey)).to_be_disabled()
    expect(casey.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    expect(casey.get_by_text("Ended", exact=True)).to_be_visible()
    # The agent's inbox moves it to the ended ones.
    expect(alex.locator(f'#ended-list [data-conversation-id="{conversation.id}"]')).to_have_count(1)
    # A reload shows the same: ended, no way to write.
    casey.reload()
    expect(composer(casey)).to_be_disabled()


def assert_text_only(page: Page, payloads: list[str]) -> None:
    bodies = [text for _, text in transcript(page)]
    assert bodies[-len(payloads) :] == payloads
    listing = page.locator('ol[aria-label="Messages"]')
    assert listing.locator("img, script, iframe, object").count() == 0
    links = listing.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/guide?x=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(links).to_have_attribute("target", "_blank")


def test_markup_in_messages_stays_text(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    subject = "<b>bold</b><script>alert('subject')</script>"
    conversation = world.conversation(customer, agent=agent, subject=subject)
    payloads = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">click me</a>',
        "javascript:alert(1)",
        "Docs at https://example.com/guide?x=1, thanks",
    ]
    casey = world.page(customer, f"/chat/{conversation.id}")
    alex = world.page(agent, f"/chat/{conversation.id}")
    expect(casey.get_by_role("heading", level=1)).to_have_text(subject)
    for text in payloads:
        composer(casey).fill(text)
        composer(casey).press("Enter")
        expect(composer(casey)).to_have_value("")
    expect(alex.locator(ITEMS).filter(has_text="thanks")).to_have_count(1)

    for page in (casey, alex):
        assert_text_only(page, payloads)
        # Reloaded, the history comes from the page's JSON data: it must stay data too.
        page.reload()
        expect(page.locator(ITEMS).filter(has_text="thanks")).to_have_count(1)
        assert_text_only(page, payloads)
    customer_home = world.context(customer).new_page()
    customer_home.goto(world.server.url + "/conversations")
    expect(customer_home.get_by_text(subject)).to_be_visible()
    assert world.dialogs == []


def test_reload_and_a_dropped_connection_lose_nothing(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, agent=agent, subject="Patchy signal")
    context = world.context(customer)
    casey = context.new_page()
    casey.goto(f"{world.server.url}/chat/{conversation.id}")
    expect(composer(casey)).to_be_enabled()

    world.say(agent, conversation.id, "before the reload")
    expect(casey.locator(ITEMS).filter(has_text="before the reload")).to_have_count(1)
    casey.reload()
    expect(casey.locator(ITEMS).filter(has_text="before the reload")).to_have_count(1)
    assert_whole(casey, world, customer, conversation.id)

    context.set_offline(True)
    expect(casey.get_by_text("Reconnecting…")).to_be_visible()
    for n in range(1, 4):
        world.say(agent, conversation.id, f"while you were away {n}")
    # Writing while offline: the text stays, with a visible error, instead of vanishing.
    composer(casey).fill("written offline")
    composer(casey).press("Enter")
    expect(casey.get_by_role("alert")).to_contain_text("Not sent")
    expect(composer(casey)).to_have_value("written offline")

    context.set_offline(False)
    expect(casey.locator(ITEMS).filter(has_text="while you were away 3")).to_have_count(1)
    expect(casey.get_by_text("Reconnecting…")).to_be_hidden()
    assert_whole(casey, world, customer, conversation.id)

    # Retrying sends it once; the error goes away.
    casey.get_by_role("button", name="Send", exact=True).click()
    expect(composer(casey)).to_have_value("")
    expect(casey.get_by_role("alert")).to_be_hidden()
    expect(casey.locator(ITEMS).filter(has_text="written offline")).to_have_count(1)
    stored = [m["body"] for m in world.history(customer, conversation.id)]
    assert stored.count("written offline") == 1
    assert_whole(casey, world, customer, conversation.id)


def test_scrolling_up_loads_the_whole_history(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, agent=agent, subject="Long story")
    world.seed_messages(customer, conversation.id, [f"line {n}" for n in range(1, 131)])
    casey = world.page(customer, f"/chat/{conversation.id}")
    items = casey.locator(ITEMS)
    expect(items.last).to_contain_text("line 130")
    assert items.count() == 50
    scroller = casey.locator(".room-scroll")
    for _ in range(10):
        if casey.locator(f'{ITEMS}[data-seq="1"]').count():
            break
        shown = items.count()
        scroller.evaluate("el => { el.scrollTop = 0 }")
        expect(items).not_to_have_count(shown)
    expect(casey.get_by_text("This is the start of the conversation.")).to_be_visible()
    assert_whole(casey, world, customer, conversation.id)


def test_a_lost_ack_keeps_the_text_and_the_retry_stores_it_once(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    conversation = world.conversation(customer, agent=agent, subject="Flaky line")
    casey = world.context(customer).new_page()
    dropped: list[str] = []

    def cut_before_the_first_ack(page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()

        def from_server(frame: str | bytes) -> None:
            if not dropped and isinstance(frame, str) and json.loads(frame)["type"] == "ack":
                # The message is stored, but the connection dies before the browser hears so.
                dropped.append(frame)
                page_side.close(code=4000, reason="cut by the test")
                server_side.close()
                return
            page_side.send(frame)

        server_side.on_message(from_server)

    casey.route_web_socket(re.compile(r".*/api/v1/realtime$"), cut_before_the_first_ack)
    casey.goto(f"{world.server.url}/chat/{conversation.id}")
    composer(casey).fill("did this arrive?")
    composer(casey).press("Enter")
    expect(casey.get_by_role("alert")).to_contain_text("Not sent")
    expect(composer(casey)).to_have_value("did this arrive?")
    assert len(dropped) == 1

    # It was stored; sending again (same client_msg_id) returns it instead of a second copy.
    casey.get_by_role("button", name="Send", exact=True).click()
    expect(composer(casey)).to_have_value("")
    expect(casey.get_by_role("alert")).to_be_hidden()
    expect(casey.locator(ITEMS).filter(has_text="did this arrive?")).to_have_count(1)
    stored = [
        m for m in world.history(customer, conversation.id) if m["body"] == "did this arrive?"
    ]
    assert len(stored) == 1
    assert stored[0]["client_msg_id"] == json.loads(dropped[0])["client_msg_id"]
    assert_whole(casey, world, customer, conversation.id)
