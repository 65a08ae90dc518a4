"""A timed session in the browser: the countdown waits for the expert, counts down once they
join, the sweep ends the session at its limit (the stored deadline is moved into the past; the
server's own sweep acts), the composer closes and the customer rates the session."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import update

from parlour.conversations import service as conversations
from parlour.models.timing import ConversationTimer
from parlour.models.user import Role
from parlour.runtime import Runtime
from parlour.timing import service as timing
from tests.e2e.conftest import World, without_sweep


def test_countdown_end_at_the_limit_and_rating(world: World) -> None:
    customer = world.user(Role.customer, "Tess Timed")
    agent = world.user(Role.agent, "Ezra Expert")

    async def open_timed(rt: Runtime) -> str:
        async with rt.uow() as tx:
            view = await conversations.do_create_conversation(
                tx, customer, kind="support", customer_id=None, subject="Timed chat"
            )
            await timing.set_time_limit(tx, view.id, view.tenant_id, 600)
        return view.id

    cid = world.run(open_timed)
    tess = world.page(customer, f"/chat/{cid}")
    countdown = tess.get_by_role("timer")
    expect(countdown).to_have_text("10:00 limit · starts when someone joins")

    with world.api(agent) as http:
        assert http.post(f"/api/v1/conversations/{cid}/join").status_code == 200
    expect(countdown).to_have_text(re.compile(r"^(10:00|9:[0-5]\d) left$"))

    async def time_is_up(rt: Runtime) -> None:
        past = rt.clock.now() - timedelta(seconds=1)
        async with rt.uow() as tx:
            await tx.session.execute(
                update(ConversationTimer)
                .where(ConversationTimer.conversation_id == cid)
                .values(ends_at=past, due_at=past, warned_at=past)
            )

    without_sweep(world, time_is_up)  # the server's sweep (every 5 s) ends it
    expect(tess.get_by_role("status").filter(has_text="has ended")).to_contain_text(
        "The time for this conversation ran out.", timeout=20_000
    )
    expect(tess.get_by_role("textbox", name="Message")).to_be_disabled()
    expect(countdown).to_have_text("Time is up")

    form = tess.get_by_role("form", name="Rate this conversation")
    form.get_by_text("4", exact=True).click()
    form.get_by_placeholder("A comment (optional)").fill("Clear answers")
    form.get_by_role("button", name="Send rating").click()
    expect(tess.get_by_text("You rated this conversation 4 of 5. Thank you!")).to_be_visible()
    tess.reload()
    expect(tess.get_by_text("You rated this conversation 4 of 5. Thank you!")).to_be_visible()

    # The transcript downloads from the room, with the rating's conversation in it.
    with tess.expect_download() as download:
        tess.get_by_role("link", name="CSV").click()
    saved = Path(download.value.path()).read_text()
    assert saved.startswith("seq,time,sender,kind,body,attachments")
    assert "Parlour,system,The time limit of 10 minutes has started." in saved
