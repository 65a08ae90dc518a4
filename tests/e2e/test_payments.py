"""The offline demo's paid path in a real browser: /plans → the test payment page → the
success page → the chat room, waiting → an expert joins (through the API) → messages both
ways → the plan's time limit ends it (its stored end moved into the past; the server's own
sweep acts) → the customer rates the session."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from parlour.models.timing import ConversationTimer
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.e2e.conftest import World, without_sweep

pytestmark = pytest.mark.e2e


def test_buy_a_quick_chat_and_talk_to_an_expert(world: World) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    page = world.page(customer, "/plans")
    expect(page.get_by_role("heading", name="Quick Chat")).to_be_visible()
    page.get_by_role("button", name="Buy Quick Chat").click()

    # The built-in test provider, clearly labelled, stands in for Stripe's page.
    expect(page).to_have_url(re.compile(r"/checkout/test/cs_parlour_test_"))
    expect(page.get_by_text("Test payment.")).to_be_visible()
    expect(page.get_by_text("no money moves")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay \$9\.99")).click()

    # The success page waits for the order, then opens the chat room.
    expect(page).to_have_url(re.compile(r"/chat/[A-Za-z0-9_-]+$"))
    conversation_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_text("Waiting for an expert to join")).to_be_visible()

    with world.api(agent) as http:
        joined = http.post(f"/api/v1/conversations/{conversation_id}/join")
    assert joined.status_code == 200, joined.text
    expect(page.get_by_text("Alex Expert joined the conversation.")).to_be_visible()

    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill("My brakes squeal")
    box.press("Enter")
    expect(box).to_have_value("")  # the composer clears once the server acked the send
    history = world.history(agent, conversation_id)
    assert any(m["body"] == "My brakes squeal" for m in history)
    world.say(agent, conversation_id, "Wet pads squeal; are they worn?")
    expect(page.get_by_text("Wet pads squeal; are they worn?", exact=True)).to_be_visible()
    # The running timed session offers more minutes to its customer.
    page.reload()
    expect(page.get_by_role("button", name=re.compile(r"Buy 5 more minutes"))).to_be_visible()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d) left$"))

    # The clock jumps to the end of the plan's 10 minutes.
    async def time_is_up(rt: Runtime) -> None:
        past = rt.clock.now() - timedelta(seconds=1)
        async with rt.uow() as tx:
            await tx.session.execute(
                update(ConversationTimer)
                .where(ConversationTimer.conversation_id == conversation_id)
                .values(ends_at=past, due_at=past, warned_at=past)
            )

    without_sweep(world, time_is_up)
    expect(page.get_by_role("status").filter(has_text="has ended")).to_contain_text(
        "The time for this conversation ran out.", timeout=20_000
    )
    expect(box).to_be_disabled()

    form = page.get_by_role("form", name="Rate this conversation")
    form.get_by_text("5", exact=True).click()
    form.get_by_role("button", name="Send rating").click()
    expect(page.get_by_text("You rated this conversation 5 of 5. Thank you!")).to_be_visible()


def test_an_admin_changes_a_price_on_the_plans_page(world: World) -> None:
    admin = world.user(Role.admin, "Ada Admin")
    page = world.page(admin, "/admin/plans")
    row = page.locator('tr[data-plan-code="video15"]')
    row.get_by_label("Price", exact=True).fill("3499")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved video15.")).to_be_visible()
    with world.api(admin) as http:
        plans = http.get("/api/v1/plans").json()
    assert {p["code"]: p["price_amount"] for p in plans}["video15"] == 3499
    visitor = world.page(None, "/plans")
    expect(visitor.get_by_text("$34.99")).to_be_visible()
    # The browser tests share one database: put the price back for the others.
    video15 = next(p for p in plans if p["code"] == "video15")
    with world.api(admin) as http:
        restored = http.patch(f"/api/v1/plans/{video15['id']}", json={"price_amount": 2999})
    assert restored.status_code == 200, restored.text
