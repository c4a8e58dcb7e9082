"""A new email address in real Chromium at phone width, as a graduate does it: type it on the
preferences page, confirm it from the new mailbox, and undo it from the old one. Every step
leaves a screenshot in test-artifacts/screenshots/ (address-*.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.journeys.conftest import BrowserTab, LiveServer, Screenshot
from tests.journeys.test_browser_journey import (
    expect_only_own_origin,
    find_alumnus,
    horizontal_overflow,
)
from tests.support.factories import answer, make_alumnus

pytestmark = pytest.mark.browser

OLD = "noor.visser@alumni.example"
NEW = "noor@nieuwe-baan.example"


def fits(page: Page, screenshot: Screenshot, name: str) -> None:
    screenshot(page, f"address-{name}")
    assert horizontal_overflow(page) <= 0, f"{name} is wider than the phone"


def open_mail_link(page: Page, live: LiveServer, to: str, kind: LinkKind) -> None:
    """From the dev outbox, the newest mail to ``to``, then its link of ``kind``."""
    live.app.extensions["dramatiq"].finish_queued_work()
    page.goto("/dev/outbox")
    subject = page.get_by_role("row").filter(has_text=to).first.get_by_role("link")
    subject.focus()  # the outbox is wider than a phone; a tap may miss, Enter does not
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dev/outbox/[0-9a-f]{32}\.eml$"))
    page.get_by_role("link", name=re.compile(rf"\/{kind.value}\/")).first.click()
    page.wait_for_url(re.compile(rf"/{kind.value}/[^/?]+$"))


def press(page: Page) -> int:
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("main").locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    return posted.value.status


def test_a_new_address_is_confirmed_by_its_owner_and_undone_by_the_old_one(
    live_server: LiveServer, phone_tab: BrowserTab, screenshot: Screenshot
) -> None:
    person = make_alumnus(email=OLD, first_name="Noor", last_name="Visser", locale="nl")
    answer(person, {Purpose.EVENTS, Purpose.SURVEYS})
    page = phone_tab.page

    page.goto("/preferences/" + make_token(LinkKind.PREFERENCES, person))
    email = page.locator("input[name=email]")
    expect(email).to_have_value(OLD)
    email.fill(NEW)
    fits(page, screenshot, "01-preferences-new-address")
    page.locator("button[name=action][value=save]").click()
    page.wait_for_url(re.compile(r"\?saved=1&address=sent$"))
    expect(page.get_by_role("status")).to_be_visible()
    expect(email).to_have_value(OLD)  # still the old one, until the new one confirms
    fits(page, screenshot, "02-confirmation-sent")
    assert find_alumnus(OLD).email == OLD

    open_mail_link(page, live_server, NEW, LinkKind.CONFIRM_ADDRESS)
    expect(page.get_by_role("main")).to_contain_text(NEW)
    fits(page, screenshot, "03-confirm-page")
    assert find_alumnus(OLD).email == OLD  # opening the link changed nothing
    assert press(page) == 200
    fits(page, screenshot, "04-confirmed")
    assert find_alumnus(NEW).email == NEW

    open_mail_link(page, live_server, OLD, LinkKind.KEEP_ADDRESS)
    expect(page.get_by_role("main")).to_contain_text(OLD)
    fits(page, screenshot, "05-keep-page")
    assert press(page) == 200
    fits(page, screenshot, "06-kept")
    assert find_alumnus(OLD).email == OLD

    expect_only_own_origin(phone_tab, live_server)
