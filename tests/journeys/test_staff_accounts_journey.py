"""An administrator's staff-account journey in real Chromium: invite a colleague, who opens
the link from the captured email, sets a password, logs in and sets up a second factor; the
administrator switches the account off and the colleague's open session and API token are
refused at once.

Elements are found by role, link target, field name or button value, never by prose.
"""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser

from alumni.accounts import api_tokens
from alumni.accounts.staff import find_staff
from alumni.extensions import db
from tests.journeys.conftest import DESKTOP, BrowserTab, LiveServer, Screenshot, opened_tab
from tests.support.factories import STAFF_PASSWORD, make_staff
from tests.support.staff import pass_second_step_in

pytestmark = pytest.mark.browser

ADMIN = "admin@school.example"
COLLEAGUE = "colleague@school.example"
NEW_PASSWORD = "a brand new long passphrase"


def mail_to(outbox: Path, address: str, timeout: float = 10.0):
    """The first message to ``address`` in the dev outbox, once the worker has written it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == address:
                return message
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} in {timeout} s")


def log_in(page, email: str, password: str) -> None:
    page.goto("/staff/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main button[type=submit]").click()


def enrol_totp(page) -> None:
    """A new account's first login: the key the page shows, confirmed with a code of it."""
    page.wait_for_url(re.compile(r"/staff/enrol$"))
    secret = page.locator("#totp-secret").inner_text().strip()
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    page.locator("form:has(input[name=code]) button[type=submit]").click()
    page.locator("#continue").click()  # past the recovery codes
    page.wait_for_url(re.compile(r"/staff/$"))


def test_an_admin_invites_a_colleague_and_switches_them_off(
    live_server: LiveServer, browser: Browser, tab: BrowserTab, screenshot: Screenshot
) -> None:
    make_staff("admin", email=ADMIN)
    admin = tab.page
    log_in(admin, ADMIN, STAFF_PASSWORD)
    pass_second_step_in(admin, ADMIN)
    admin.wait_for_url(re.compile(r"/staff/$"))
    admin.locator("nav a[href='/staff/accounts']").click()
    admin.wait_for_url(re.compile(r"/staff/accounts$"))
    admin.locator("main input[name=email]").fill(COLLEAGUE)
    admin.locator("main form[action$='/invite'] select[name=role]").select_option("officer")
    screenshot(admin, "accounts-01-invite")
    admin.locator("button[name=action][value=invite]").click()
    admin.wait_for_url(re.compile(r"/staff/accounts$"))

    message = mail_to(live_server.outbox, COLLEAGUE)
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://\S+/staff/welcome/\S+", text).group(0)

    with opened_tab(browser, live_server, DESKTOP) as colleague_tab:
        colleague = colleague_tab.page
        colleague.goto(link)
        colleague.locator("input[name=new_password]").fill(NEW_PASSWORD)
        colleague.locator("input[name=confirm_password]").fill(NEW_PASSWORD)
        screenshot(colleague, "accounts-02-welcome")
        colleague.locator("main button[type=submit]").click()
        colleague.wait_for_url(re.compile(r"/staff/login$"))
        log_in(colleague, COLLEAGUE, NEW_PASSWORD)
        enrol_totp(colleague)
        screenshot(colleague, "accounts-03-colleague-in")

        _, raw = api_tokens.create_token(find_staff(COLLEAGUE), name="nightly report")
        db.session.commit()
        api = {"Authorization": f"Bearer {raw}"}
        assert colleague.request.get("/api/v1/campaigns", headers=api).status == 200

        admin.reload()
        row = admin.locator("tr", has_text=COLLEAGUE)
        row.locator("button[name=action][value=deactivate]").click()
        admin.wait_for_url(re.compile(r"/staff/accounts$"))
        expect_switched_off = admin.locator("tr", has_text=COLLEAGUE)
        assert expect_switched_off.locator("button[name=action][value=reactivate]").count() == 1
        screenshot(admin, "accounts-04-switched-off")

        colleague.locator("nav a[href='/staff/campaigns']").click()  # the next click
        colleague.wait_for_url(re.compile(r"/staff/login\?next="))
        assert colleague.locator("nav.staff-nav").count() == 0
        assert colleague.request.get("/api/v1/campaigns", headers=api).status == 401
        screenshot(colleague, "accounts-05-refused")
