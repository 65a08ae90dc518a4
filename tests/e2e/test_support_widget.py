"""The support widget in a real browser, embedded in a plain HTML page served from another
site: the visitor opens the panel, starts a chat, writes and sends an image; an online agent is
assigned by routing and replies, and the visitor sees it live (the image too, fetched with the
guest's token); a reload brings back the same conversation. The host page's CSS and scripts
cannot reach into the panel."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import FrameLocator, expect

from parlour.auth.principal import Principal
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.e2e.conftest import World
from tests.tickets.support import allow_widget

pytestmark = pytest.mark.e2e

ITEMS = 'ol[aria-label="Messages"] > li'

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Kettle Shop</title>
<style>
  /* A careless (or hostile) host stylesheet: none of it may reach the widget. */
  button, iframe {{ display: none !important; }}
  * {{ font-size: 40px !important; color: hotpink !important; }}
</style></head>
<body><h1>Kettle Shop</h1>
<script src="{server}/widget.js" data-tenant="default" async></script>
</body></html>
"""


@contextmanager
def host_site(server_url: str, host: str) -> Iterator[str]:
    """A plain page on another origin (its own port) embedding the widget, named `host`."""
    body = HOST_PAGE.format(server=server_url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def texts(frame: FrameLocator) -> list[str]:
    return [t.strip() for t in frame.locator(f"{ITEMS} .msg-body").all_text_contents()]


# 127.0.0.1 on another port: another origin of the same site, where the panel keeps the guest's
# credential in its own storage. localhost: another site, where this Chromium blocks storage in
# third-party frames, so the panel has the widget script keep it on the host page.
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_visitor_chats_through_the_widget_on_another_site(
    world: World, host: str, tmp_path: Path
) -> None:
    agent = world.user(Role.agent, "Wanda Agent")
    photo = tmp_path / "kettle.png"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 60, 20)).save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())
    # Online: routing assigns the new support chat to her. The browser tests share a database:
    # she has room for whatever other tests left waiting (routed first, in arrival order), and
    # goes offline again whatever happens.
    admin = world.user(Role.admin, "Wes Admin")
    with world.api(admin) as http:
        room = http.patch(f"/api/v1/users/{agent.user_id}", json={"capacity": 100})
        assert room.status_code == 200, room.text
    with world.api(agent) as http:
        assert http.put("/api/v1/me/availability", json={"status": "online"}).status_code == 200
    try:
        _chat_through_the_widget(world, host, agent, photo)
    finally:
        with world.api(agent) as http:
            http.put("/api/v1/me/availability", json={"status": "offline"})


def _chat_through_the_widget(world: World, host: str, agent: Principal, photo: Path) -> None:
    with host_site(world.server.url, host) as site:

        async def open_to(rt: Runtime) -> None:
            await allow_widget(rt, site)

        world.run(open_to)
        page = world.context().new_page()
        page.goto(site + "/")
        launcher = page.get_by_role("button", name="Chat with us")
        expect(launcher).to_be_visible()  # the host's `button { display: none }` did not reach it
        launcher.click()
        panel = page.frame_locator('iframe[title="Support chat"]')

        panel.get_by_label("Your name").fill("Vera Visitor")
        panel.get_by_role("textbox", name="Message", exact=True).fill("My kettle leaks")
        panel.get_by_role("button", name="Start chat").click()
        expect(panel.locator(ITEMS).filter(has_text="My kettle leaks")).to_be_visible()

        composer = panel.get_by_role("textbox", name="Message", exact=True)
        composer.fill("Are you there?")
        composer.press("Enter")
        expect(panel.locator(ITEMS).filter(has_text="Are you there?")).to_be_visible()

        # The host page's scripts cannot read the panel (another origin).
        reached = page.evaluate(
            """() => {
                const frame = document.querySelector('[data-parlour-widget]')
                    .shadowRoot.querySelector('iframe');
                try { return frame.contentDocument === null ? 'nothing' : 'the document'; }
                catch (e) { return 'nothing'; }
            }"""
        )
        assert reached == "nothing"

        # The visitor sends an image from the panel.
        panel.locator('input[type="file"]').set_input_files(str(photo))
        panel.get_by_role("textbox", name="Message", exact=True).fill("The crack")
        panel.get_by_role("button", name="Send", exact=True).click()
        thumbnail = panel.locator(ITEMS).filter(has_text="The crack").locator("img")
        expect(thumbnail).to_have_attribute("alt", "kettle.png")
        expect(thumbnail).to_have_attribute("src", re.compile(r"^blob:"))

        # Routing gave the ticket to the online agent; she sees the image and replies.
        with world.api(agent) as http:
            mine = http.get("/api/v1/tickets", params={"assignee": "me"}).json()["tickets"]
            [ticket] = [t for t in mine if t["subject"] == "My kettle leaks"]
            assert ticket["customer_name"] == "Vera Visitor"
            cid = ticket["conversation_id"]
            history = http.get(f"/api/v1/conversations/{cid}/messages").json()
            [image] = [a for m in history["messages"] for a in m.get("attachments") or []]
            assert (image["filename"], image["content_type"]) == ("kettle.png", "image/png")
            assert http.get(image["url"]).status_code == 200
        expect(panel.get_by_text("Wanda Agent was assigned to the conversation.")).to_be_visible()
        world.say(agent, cid, "Hello Vera, I can help")
        expect(panel.get_by_text("Wanda Agent was assigned to the conversation.")).to_be_visible()
        expect(panel.locator(ITEMS).filter(has_text="Hello Vera, I can help")).to_be_visible()

        # A reload: the panel reopens on the same conversation, its history intact.
        page.reload()
        panel = page.frame_locator('iframe[title="Support chat"]')
        expect(panel.locator(ITEMS).filter(has_text="Hello Vera, I can help")).to_be_visible()
        expect(panel.get_by_text("With Wanda Agent")).to_be_visible()
        shown = texts(panel)
        assert "My kettle leaks" in shown and "Are you there?" in shown
        kept_by_host = page.evaluate("() => localStorage.getItem('parlour.widget.default')")
        assert (kept_by_host is not None) == (host == "localhost")
        # It is still live after the reload.
        world.say(agent, cid, "Try the other valve")
        expect(panel.locator(ITEMS).filter(has_text="Try the other valve")).to_be_visible()


def test_the_support_page_chats_as_a_visitor_even_in_a_signed_in_browser(world: World) -> None:
    agent = world.user(Role.agent, "Sam Signed-In")
    page = world.page(agent, "/support")  # the browser carries the agent's session cookie
    page.get_by_role("textbox", name="Message", exact=True).fill("Testing the desk")
    page.get_by_role("button", name="Start chat").click()
    expect(page.get_by_text("Waiting for an expert to join")).to_be_visible()
    composer = page.get_by_role("textbox", name="Message", exact=True)
    composer.fill("Live too?")
    composer.press("Enter")
    expect(page.locator(ITEMS).filter(has_text="Live too?")).to_be_visible()
    page.reload()
    expect(page.locator(ITEMS).filter(has_text="Live too?")).to_be_visible()
    expect(page.locator(ITEMS).filter(has_text="Testing the desk")).to_be_visible()
