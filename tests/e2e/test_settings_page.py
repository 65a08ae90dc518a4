"""The admin's settings page in a real browser: change a setting, set and remove a key."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from parlour.models.user import Role
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

KEY = "sk_test_e2e_0123456789abcdefWXYZ"


def test_admin_changes_settings_and_sets_a_key(world: World) -> None:
    admin = world.user(Role.admin, "Ada Admin")
    page = world.page(admin, "/admin/settings")
    try:
        expect(page).to_have_title("Settings · Parlour")
        page.get_by_label("What you call your staff").fill("mechanic")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("#settings-saved")).to_have_text("Saved.")

        row = page.locator('tr[data-secret="stripe_secret_key"]')
        expect(row).to_contain_text("Not set")
        row.get_by_label("New value for stripe_secret_key").fill(KEY)
        row.get_by_role("button", name="Save").click()
        expect(row).to_contain_text("ends in WXYZ")
        expect(row.get_by_label("New value for stripe_secret_key")).to_have_value("")

        # A value the API refuses shows its message and keeps the page usable.
        page.get_by_label("What you call your staff").fill("")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("#settings-error")).to_contain_text("staff_label")

        page.reload()
        expect(page.get_by_label("What you call your staff")).to_have_value("mechanic")
        expect(row).to_contain_text("ends in WXYZ")
        assert KEY not in page.content()
        row.get_by_role("button", name="Remove").click()
        expect(row).to_contain_text("Not set")
    finally:
        # The browser tests share one tenant: leave its settings as they were.
        with world.api(admin) as http:
            reset = http.patch("/api/v1/tenant/settings", json={"staff_label": None})
            assert reset.status_code == 200, reset.text
