"""The show-password button in real Chromium, under the page's own CSP: it shows and hides what
was typed; without script it is not there and logging in works all the same."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.journeys.conftest import DESKTOP, BrowserTab, LiveServer
from tests.support.factories import STAFF_PASSWORD, make_staff
from tests.support.staff import pass_second_step_in

pytestmark = pytest.mark.browser

OFFICER = "officer@school.example"


def test_the_password_can_be_shown_and_hidden(live_server: LiveServer, tab: BrowserTab) -> None:
    make_staff("officer", email=OFFICER)
    page = tab.page
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.goto("/staff/login")
    field = page.locator("input[name=password]")
    toggle = page.locator("button[data-show-password=password]")
    field.fill(STAFF_PASSWORD)
    expect(toggle).to_be_visible()
    toggle.click()
    expect(field).to_have_attribute("type", "text")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(field).to_have_attribute("type", "password")
    page.locator("input[name=email]").fill(OFFICER)
    page.locator("main button[type=submit]").click()
    pass_second_step_in(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/$"))
    assert problems == []  # no script refused by the CSP, no error


def test_without_script_the_field_stays_masked_and_works(browser, live_server: LiveServer) -> None:
    make_staff("officer", email=OFFICER)
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/staff/login")
        expect(page.locator("button[data-show-password=password]")).to_be_hidden()
        page.locator("input[name=email]").fill(OFFICER)
        page.locator("input[name=password]").fill(STAFF_PASSWORD)
        page.locator("main button[type=submit]").click()
        pass_second_step_in(page, OFFICER)  # a plain form: no script needed either
        page.wait_for_url(re.compile(r"/staff/$"))
    finally:
        context.close()
