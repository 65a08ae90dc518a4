"""Regenerate docs/screenshot.png: the customer's chat room with a few messages, 1280x800.

    .venv/bin/python -m tests.e2e.make_screenshot

Starts a real server on a scratch SQLite database, has an expert and a customer talk through
it, and photographs the customer's page while the expert is typing.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from parlour.config import Settings
from parlour.core.db import create_engine
from parlour.core.migrations import upgrade
from parlour.models.user import Role
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World
from tests.system.conftest import start_server, stop_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
CUSTOMER, AGENT = "customer", "agent"
SCRIPT = [
    (CUSTOMER, "Hi! My brakes squeal every time it rains. Is that dangerous?"),
    (
        AGENT,
        "Hi Casey, thanks for the details. Usually not: wet pads often squeal.\n"
        "Do they still stop the bike as well as when it is dry?",
    ),
    (CUSTOMER, "They do, but it is loud enough that people turn around."),
    (
        AGENT,
        "Then the pads are glazed. A light sanding fixes it, this guide shows how: "
        "https://example.com/guides/brake-pads",
    ),
    (CUSTOMER, "Perfect, I will try that tonight. Thank you!"),
]


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = f"sqlite+aiosqlite:///{folder / 'parlour.db'}"
        asyncio.run(migrate(url))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            data_dir=folder / "data",
            secret_key="screenshot-secret-key-that-is-long-enough",
        )
        server = start_server(settings, folder / "server.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                world = World(settings=settings, server=server, browser=browser)
                people = {
                    CUSTOMER: world.user(Role.customer, "Casey Customer"),
                    AGENT: world.user(Role.agent, "Alex Expert"),
                }
                conversation = world.conversation(
                    people[CUSTOMER], agent=people[AGENT], subject="Brakes squeal when wet"
                )
                casey = world.page(people[CUSTOMER], f"/chat/{conversation.id}")
                alex = world.page(people[AGENT], f"/chat/{conversation.id}")
                for who, text in SCRIPT:
                    world.say(people[who], conversation.id, text)
                last = SCRIPT[-1][1]
                expect(casey.get_by_role("list", name="Messages")).to_contain_text(last)
                expect(alex.get_by_role("list", name="Messages")).to_contain_text(last)
                alex.get_by_role("textbox", name="Message", exact=True).press_sequentially("You")
                expect(casey.get_by_text("Alex Expert is typing…")).to_be_visible()
                expect(casey.get_by_text("Seen")).to_be_visible()
                casey.get_by_role("textbox", name="Message", exact=True).blur()
                casey.screenshot(path=str(OUT))
                browser.close()
        finally:
            stop_server(server)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
