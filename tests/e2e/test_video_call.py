"""video: two browsers (fake camera and microphone) reach a connected RTCPeerConnection through
/call/{id}, signaled over the realtime gateway, and chat beside the video; a reload reconnects."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from parlour.auth.principal import Principal
from parlour.conversations import service as conversations
from parlour.conversations.schemas import ConversationRead
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World
from tests.system.conftest import LiveServer

pytestmark = pytest.mark.e2e

# A fake camera and microphone, granted without a prompt.
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
CONNECTED = '[data-connection-state="connected"]'


@pytest.fixture(scope="module")
def media_browser(browser: Browser) -> Iterator[Browser]:
    """A second Chromium with the media flags, from the same Playwright (one per thread)."""
    media = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
    )
    yield media
    media.close()


@pytest.fixture
def call_world(e2e_settings: object, server: LiveServer, media_browser: Browser) -> Iterator[World]:
    w = World(settings=e2e_settings, server=server, browser=media_browser)  # type: ignore[arg-type]
    try:
        yield w
    finally:
        for context in w.contexts:
            context.close()
    assert w.page_errors == [], w.page_errors
    assert w.dialogs == [], w.dialogs


def video_conversation(world: World, customer: Principal, agent: Principal) -> ConversationRead:
    """A `video` conversation (as a paid video plan opens it), joined by `agent`."""

    async def make(rt: Runtime) -> ConversationRead:
        async with rt.uow() as tx:
            view = await conversations.do_create_conversation(
                tx, agent, kind="video", customer_id=customer.user_id, subject="Engine noise"
            )
            return await conversations.do_join(tx, agent, view.id)

    return world.run(make)


def composer(page: Page) -> object:
    return page.get_by_role("textbox", name="Message", exact=True)


def test_customer_and_agent_connect_a_video_call_and_chat_beside_it(call_world: World) -> None:
    world = call_world
    customer = world.user(Role.customer, "Vera Video")
    agent = world.user(Role.agent, "Max Mechanic")
    conversation = video_conversation(world, customer, agent)
    path = f"/call/{conversation.id}"

    # The expert is in the conversation's chat; the customer opens the call: the chat offers it.
    max_ = world.page(agent, f"/chat/{conversation.id}")
    expect(max_.get_by_role("link", name="Video call")).to_be_visible()
    vera = world.page(customer, path)
    max_.get_by_role("link", name="Join the video call (Vera Video is there)").click()
    expect(max_).to_have_url(re.compile(f"{path}$"))
    for page in (vera, max_):
        expect(page.locator(f"#call-root{CONNECTED}")).to_be_visible(timeout=20_000)
    expect(vera.get_by_text("In a call with Max Mechanic")).to_be_visible()
    # Real media flows: the remote video has frames from the fake camera.
    max_.wait_for_function(
        "() => document.querySelector('.call-remote').videoWidth > 0", timeout=15_000
    )

    # The chat beside the video is the conversation's chat room.
    box = vera.get_by_role("textbox", name="Message", exact=True)
    box.fill("Can you hear the knocking?")
    box.press("Enter")
    expect(
        max_.get_by_role("list", name="Messages").get_by_text("Can you hear the knocking?")
    ).to_be_visible()

    # A reload (the customer's page) reconnects the call.
    vera.reload()
    for page in (vera, max_):
        expect(page.locator(f"#call-root{CONNECTED}")).to_be_visible(timeout=20_000)

    # Hanging up tells the other side; it waits for them to come back.
    max_.get_by_role("button", name="Hang up").click()
    expect(max_.get_by_text("You left the call.")).to_be_visible()
    expect(vera.get_by_text("Max Mechanic left the call.")).to_be_visible()
    expect(vera.locator("#call-root")).not_to_have_attribute("data-connection-state", "connected")
    max_.get_by_role("button", name="Join the call again").click()
    for page in (vera, max_):
        expect(page.locator(f"#call-root{CONNECTED}")).to_be_visible(timeout=20_000)

    # Ending the conversation ends the call on both sides (each closes its own media).
    with world.api(agent) as http:
        assert http.post(f"/api/v1/conversations/{conversation.id}/end", json={}).is_success
    for page in (vera, max_):
        expect(
            page.get_by_text("This conversation has ended, and its call with it.")
        ).to_be_visible()
        expect(page.locator("#call-root")).to_have_attribute("data-connection-state", "closed")
    # Opened afterwards, the page shows the transcript and no call.
    vera.reload()
    expect(vera.get_by_text("This conversation has ended, and its call with it.")).to_be_visible()
    expect(vera.get_by_text("Can you hear the knocking?")).to_be_visible()
    expect(vera.get_by_role("button", name="Hang up")).to_be_disabled()


# From a page of this site (cookie auth): one signal frame, and the answer to it.
SIGNAL_FROM_PAGE = """async (cid) => {
  const ws = new WebSocket(`ws://${location.host}/api/v1/realtime`);
  const frames = [];
  await new Promise((resolve) => { ws.onmessage = (e) => { frames.push(JSON.parse(e.data));
    if (frames.at(-1).type === "ready") resolve(); }; });
  const answer = new Promise((resolve) => { ws.onmessage = (e) => {
    const f = JSON.parse(e.data); if (f.ref === "x") resolve(f); }; });
  ws.send(JSON.stringify({type: "signal", conversation_id: cid, signal: "description", pc: "p1",
    to: "p2", description: {type: "offer", sdp: "v=0\\r\\n"}, ref: "x"}));
  const got = await answer;
  ws.close();
  return got;
}"""


def test_the_call_is_only_for_the_two_parties(world: World) -> None:
    customer = world.user(Role.customer)
    agent = world.user(Role.agent)
    outsider = world.user(Role.customer)
    admin = world.user(Role.admin)
    conversation = video_conversation(world, customer, agent)
    page = world.page(outsider, f"/call/{conversation.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    # An admin reads the conversation (an observer) but is not a party: no call link, no page,
    # and a signal from its browser is refused exactly as for a conversation that does not exist.
    boss = world.page(admin, f"/chat/{conversation.id}")
    expect(boss.get_by_text("You are observing")).to_be_visible()
    expect(boss.get_by_role("link", name="Video call")).to_be_hidden()
    refused = boss.evaluate(SIGNAL_FROM_PAGE, conversation.id)
    missing = boss.evaluate(SIGNAL_FROM_PAGE, "doesnotexist")
    assert refused["code"] == "conversation_not_found"
    assert refused == missing
    boss.goto(world.server.url + f"/call/{conversation.id}")
    expect(boss.get_by_role("heading", name="Not found")).to_be_visible()
