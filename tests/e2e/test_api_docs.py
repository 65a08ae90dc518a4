"""/docs in a real browser: Swagger UI renders the API under the pages' CSP, with no violation
and no request to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Request

from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def test_docs_render_without_csp_violations_or_other_hosts(world: World) -> None:
    context = world.context()
    page = context.new_page()
    problems: list[str] = []
    hosts: set[str] = set()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            problems.append(message.text)

    def on_request(request: Request) -> None:
        if not request.url.startswith("data:"):
            hosts.add(urlsplit(request.url).netloc)

    # Every violation the browser reports, whether or not it also logs one.
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.on("console", on_console)
    page.on("request", on_request)
    page.goto(world.server.url + "/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="Parlour").wait_for()
    page.locator(".opblock-tag", has_text="conversations").first.click()
    page.locator(".opblock-summary", has_text="/api/v1/conversations").first.click()
    page.get_by_text("Try it out").first.wait_for()
    violations = page.evaluate("() => window.__cspViolations || []")
    assert problems == [] and violations == [], (problems, violations)
    assert hosts == {urlsplit(world.server.url).netloc}
