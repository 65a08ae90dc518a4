"""Browser tests: Playwright for Python drives Debian's Chromium against a real `parlour serve`.

The tests are synchronous (Playwright's sync API cannot run inside an asyncio loop); test data
is made through the same services the app uses, with `asyncio.run` on a short-lived Runtime
over the server's database, and "the other side" acts through the server's REST API so its
events reach the browsers. They run on SQLite only: the service suite covers PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, sync_playwright

from parlour.auth.principal import Principal
from parlour.auth.tokens import COOKIE_NAME, issue_token
from parlour.config import Settings
from parlour.conversations import service as conversations
from parlour.conversations.schemas import ConversationRead
from parlour.messages.service import do_send_message
from parlour.models.user import Role
from parlour.runtime import Runtime, build_runtime
from tests import factories
from tests.ai.stand_in import Server as AiServer  # ai:
from tests.ai.stand_in import StandIn  # ai:
from tests.conftest import require_service
from tests.system.conftest import LiveServer, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
T = TypeVar("T")


@pytest.fixture(scope="package")
def e2e_settings(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Settings:
    """One SQLite database for the browser tests; each test makes its own people in it."""
    folder = tmp_path_factory.mktemp("e2e")
    path = folder / "parlour.db"
    shutil.copy(sqlite_template, path)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{path}",
        data_dir=folder / "data",
        secret_key="e2e-secret-key-that-is-long-enough-for-hs256",
        payments_test_provider=True,  # the paid flows pay with the built-in test provider
    )


@pytest.fixture(scope="package")
def ai_stand_in() -> Iterator[StandIn]:
    """ai: an OpenAI-compatible stand-in the server's PARLOUR_AI_BASE_URL points at (tenants
    still use the local provider unless a test chooses `openai`)."""
    stand_in = AiServer()
    try:
        yield stand_in.stand_in
    finally:
        stand_in.close()


@pytest.fixture(scope="package")
def server(
    e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory, ai_stand_in: StandIn
) -> Iterator[LiveServer]:
    """One real server for the package: starting Python dominates a test's cost otherwise."""
    log = tmp_path_factory.mktemp("e2e-log") / "server.log"
    live = start_server(
        e2e_settings,
        log,
        PARLOUR_LOGIN_RATE_PER_MINUTE="1000",
        PARLOUR_PAYMENTS_TEST_PROVIDER="true",
        PARLOUR_AI_BASE_URL=ai_stand_in.url,  # ai:
    )
    try:
        yield live
    finally:
        stop_server(live)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    require_service(CHROMIUM.exists(), f"{CHROMIUM} is missing (Debian package `chromium`)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class World:
    """The server, its database, and browser contexts that watch for trouble."""

    settings: Settings
    server: LiveServer
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def run(self, work: Callable[[Runtime], Awaitable[T]]) -> T:
        """Run `work` on a runtime over the server's database (no events reach the server)."""

        async def go() -> T:
            rt = build_runtime(self.settings)
            await rt.start()
            try:
                return await work(rt)
            finally:
                await rt.stop()

        # Playwright's sync API keeps its own event loop running in this thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def user(self, role: Role | str, name: str | None = None) -> Principal:
        return self.run(lambda rt: factories.make_user(rt, role, name=name))

    def conversation(
        self, customer: Principal, *, agent: Principal | None = None, subject: str = "Help"
    ) -> ConversationRead:
        """A support conversation opened by `customer`, joined by `agent` when given."""

        async def make(rt: Runtime) -> ConversationRead:
            async with rt.uow() as tx:
                view = await conversations.do_create_conversation(
                    tx, customer, kind="support", customer_id=None, subject=subject
                )
                if agent is not None:
                    view = await conversations.do_join(tx, agent, view.id)
            return view

        return self.run(make)

    def seed_messages(self, sender: Principal, conversation_id: str, bodies: list[str]) -> None:
        """Store messages straight in the database (history, not live traffic)."""

        async def seed(rt: Runtime) -> None:
            async with rt.uow() as tx:
                for body in bodies:
                    await do_send_message(
                        tx,
                        sender,
                        conversation_id=conversation_id,
                        body=body,
                        client_msg_id=None,
                        max_chars=4000,
                    )

        self.run(seed)

    def token(self, principal: Principal) -> str:
        assert principal.user_id is not None
        return issue_token(
            secret=self.settings.secret_key,
            user_id=principal.user_id,
            tenant_id=principal.tenant_id,
            now=datetime.now(UTC),
            ttl_seconds=3600,
        )

    def api(self, principal: Principal) -> httpx.Client:
        """The REST API as `principal`: its changes reach the browsers live."""
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {self.token(principal)}"},
            timeout=10,
        )

    def say(self, principal: Principal, conversation_id: str, body: str) -> dict[str, Any]:
        with self.api(principal) as http:
            response = http.post(
                f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}
            )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def history(self, principal: Principal, conversation_id: str) -> list[dict[str, Any]]:
        with self.api(principal) as http:
            response = http.get(
                f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 200}
            )
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def context(self, principal: Principal | None = None) -> BrowserContext:
        """A fresh browser profile, signed in as `principal` (by cookie) when given."""
        context = self.browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        if principal is not None:
            context.add_cookies(
                [{"name": COOKIE_NAME, "value": self.token(principal), "url": self.server.url}]
            )
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def page(self, principal: Principal | None = None, path: str = "/") -> Page:
        page = self.context(principal).new_page()
        page.goto(self.server.url + path)
        return page

    def _watch(self, page: Page) -> None:
        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))


@pytest.fixture
def world(e2e_settings: Settings, server: LiveServer, browser: Browser) -> Iterator[World]:
    w = World(settings=e2e_settings, server=server, browser=browser)
    try:
        yield w
    finally:
        for context in w.contexts:
            context.close()
    # Every page must run without a script error and without a single alert/confirm/prompt.
    assert w.page_errors == [], w.page_errors
    assert w.dialogs == [], w.dialogs


def without_sweep(world: World, work: Callable[[Runtime], Awaitable[None]]) -> None:
    """Run `work` on a runtime that is not started: `World.run` starts one, whose own sweep
    could act on the deadline moved into the past before the server's does, and its events
    would reach no browser."""

    async def go() -> None:
        settings = world.settings.model_copy(update={"sweep_interval_seconds": 0})
        rt = build_runtime(settings)
        try:
            await work(rt)
        finally:
            await rt.engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, go()).result()
