"""Logging in and out, where each role lands, and what a stranger sees."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, do_ensure_default_tenant, principal_for
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.e2e.conftest import World
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def make_login(world: World, role: Role, name: str) -> tuple[Principal, str]:
    """A user with a known email (the factories' emails are numbered) and PASSWORD."""
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"

    async def create(rt: Runtime) -> Principal:
        async with rt.uow() as tx:
            tenant = await do_ensure_default_tenant(tx.session, now=tx.now)
            user = await do_create_user(
                tx.session,
                tenant_id=tenant.id,
                role=role,
                display_name=name,
                email=email,
                password=PASSWORD,
                now=tx.now,
            )
            return principal_for(user)

    return world.run(create), email


def test_logged_out_visit_goes_to_login_and_comes_back(world: World) -> None:
    customer, email = make_login(world, Role.customer, "Casey")
    conversation = world.conversation(customer, subject="Where is my parcel?")
    page = world.page(None, f"/chat/{conversation.id}")

    expect(page).to_have_url(re.compile(rf"/login\?next=/chat/{conversation.id}$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(email)

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{world.server.url}/chat/{conversation.id}")
    expect(page.get_by_role("heading", name="Where is my parcel?")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{world.server.url}/login")
    page.goto(f"{world.server.url}/chat/{conversation.id}")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_each_role_lands_where_it_belongs_and_next_stays_on_site(world: World) -> None:
    page = world.context().new_page()
    for role, landing in [
        (Role.customer, "/conversations"),
        (Role.agent, "/agent"),
        (Role.admin, "/admin"),
    ]:
        _, email = make_login(world, role, role.value.title())
        # An attacker's link: after login the browser must stay on this site.
        page.goto(f"{world.server.url}/login?next=//evil.example/steal")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(world.server.url + landing)
        page.goto(world.server.url + "/")
        expect(page).to_have_url(world.server.url + landing)
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{world.server.url}/login")


def test_a_stranger_gets_the_same_not_found_page_as_for_a_missing_conversation(
    world: World,
) -> None:
    owner = world.user(Role.customer)
    agent = world.user(Role.agent)
    conversation = world.conversation(owner, agent=agent)
    for stranger in (world.user(Role.customer), world.user(Role.agent)):
        page = world.context(stranger).new_page()
        theirs = page.goto(f"{world.server.url}/chat/{conversation.id}")
        assert theirs is not None and theirs.status == 404
        stranger_view = page.locator("main").inner_text()
        missing = page.goto(f"{world.server.url}/chat/0123456789abcdef0123456789abcdef")
        assert missing is not None and missing.status == 404
        assert page.locator("main").inner_text() == stranger_view
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert conversation.subject not in page.content()
