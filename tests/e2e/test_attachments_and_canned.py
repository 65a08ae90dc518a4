"""Attachments and saved replies in a real browser: the customer attaches an image and a PDF,
the agent sees the image inline (thumbnail linking to the full image) and the PDF as a
download link, and answers with a canned response picked by typing its shortcut."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from parlour.models.user import Role
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def test_files_and_canned_responses(world: World, tmp_path: Path) -> None:
    customer = world.user(Role.customer, "Casey Customer")
    agent = world.user(Role.agent, "Alex Expert")
    admin = world.user(Role.admin, "Ada Admin")
    conversation = world.conversation(customer, agent=agent, subject="Scratched door")
    with world.api(admin) as http:
        made = http.post(
            "/api/v1/canned-responses",
            json={"shortcut": "greeting", "title": "Say hello", "body": "Hello! How can I help?"},
        )
        assert made.status_code == 201, made.text

    photo = tmp_path / "door.png"
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 200)).save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    casey = world.page(customer, f"/chat/{conversation.id}")
    alex = world.page(agent, f"/chat/{conversation.id}")
    expect(casey.get_by_role("heading", name="Scratched door")).to_be_visible()
    expect(alex.get_by_role("heading", name="Scratched door")).to_be_visible()

    casey.locator('input[type="file"]').set_input_files([str(photo), str(invoice)])
    files = casey.get_by_role("list", name="Files to send")
    expect(files).to_contain_text("door.png")
    expect(files).to_contain_text("invoice.pdf")
    casey.get_by_role("textbox", name="Message", exact=True).fill("Here it is")
    casey.get_by_role("button", name="Send", exact=True).click()
    expect(files).to_be_hidden()

    messages = alex.get_by_role("list", name="Messages")
    image_link = messages.locator("a.msg-image")
    expect(image_link).to_be_visible()
    assert (image_link.get_attribute("href") or "").startswith("/api/v1/attachments/")
    thumbnail = image_link.locator("img")
    expect(thumbnail).to_have_attribute("alt", "door.png")
    alex.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    download = messages.locator("a.msg-download")
    expect(download).to_contain_text("invoice.pdf")
    assert download.get_attribute("download") == "invoice.pdf"
    # Nothing but the image is shown inline.
    assert messages.locator("img").count() == 1

    box = alex.get_by_role("textbox", name="Message", exact=True)
    box.press_sequentially("/gre")
    menu = alex.get_by_role("listbox", name="Saved replies")
    expect(menu).to_contain_text("/greeting")
    box.press("Enter")
    expect(box).to_have_value("Hello! How can I help?")
    expect(menu).to_be_hidden()
    box.press("Enter")
    expect(
        casey.get_by_role("list", name="Messages").get_by_text("Hello! How can I help?")
    ).to_be_visible()
    # The customer's composer offers no saved replies.
    casey_box = casey.get_by_role("textbox", name="Message", exact=True)
    casey_box.press_sequentially("/gre")
    expect(casey.get_by_role("listbox", name="Saved replies")).to_be_hidden()
    assert world.page_errors == []
