"""Appointments in a real browser: a customer books a free slot, both people chat in the
appointment's room, the expert cancels from the appointments page, and the customer's composer
is disabled with the reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from parlour.models.user import Role
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

ALL_DAY = {
    "timezone": "UTC",
    "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
}


def test_book_chat_and_cancel(world: World) -> None:
    customer = world.user(Role.customer, "Bea Booker")
    expert = world.user(Role.agent, "Dr Ellis")
    with world.api(expert) as http:
        response = http.put(f"/api/v1/experts/{expert.user_id}/availability", json=ALL_DAY)
        assert response.status_code == 200, response.text

    bea = world.page(customer, "/appointments")
    # Tomorrow, whatever the time now: the whole day is free.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    bea.get_by_label("With").select_option(label="Dr Ellis")
    day = bea.get_by_label("Day")
    day.fill(tomorrow)
    day.dispatch_event("change")
    free = bea.get_by_role("list", name="Free times").get_by_role("button")
    expect(free.first).to_be_visible()
    free.nth(10).click()
    expect(bea).to_have_url(re.compile(r"/chat/[A-Za-z0-9]+$"))
    expect(bea.get_by_role("heading", name="Appointment with Dr Ellis")).to_be_visible()
    conversation_id = bea.url.rsplit("/", 1)[1]

    ellis = world.page(expert, f"/chat/{conversation_id}")
    box = bea.get_by_role("textbox", name="Message", exact=True)
    box.fill("Looking forward to it")
    box.press("Enter")
    expect(ellis.get_by_text("Looking forward to it", exact=True)).to_be_visible()
    reply = ellis.get_by_role("textbox", name="Message", exact=True)
    reply.fill("Me too")
    reply.press("Enter")
    expect(bea.get_by_text("Me too", exact=True)).to_be_visible()

    # The expert cancels from the appointments page.
    listing = world.page(expert, "/appointments")
    card = listing.locator("#upcoming li").first
    expect(card).to_contain_text("Bea Booker")
    card.get_by_role("button", name="Cancel…").click()
    listing.get_by_label("Why?").fill("Something came up")
    listing.get_by_role("button", name="Cancel appointment").click()
    expect(listing.locator("#history li").first).to_contain_text("Something came up")

    # The customer, still in the room, sees why and can no longer write.
    expect(
        bea.get_by_text(
            "This conversation has ended. Dr Ellis cancelled the appointment: Something came up"
        )
    ).to_be_visible()
    expect(box).to_be_disabled()
