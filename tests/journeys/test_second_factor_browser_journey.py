"""The staff second factor in real Chromium (issue 13 point 1): a new account enrols TOTP with
the key the page shows, logs out, logs in with a code, then with a recovery code (which then no
longer works); another registers a passkey in Chromium's virtual authenticator (CDP WebAuthn)
and logs in with it. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from alumni.extensions import db
from alumni.models import Passkey, StaffUser
from tests.conftest import base_config
from tests.journeys.conftest import (
    DESKTOP,
    LiveServer,
    Screenshot,
    opened_tab,
    serving,
)
from tests.support.factories import STAFF_PASSWORD, make_staff
from tests.support.staff import next_totp_code

pytestmark = pytest.mark.browser

OFFICER = "officer@school.example"


def log_in_with_password(page: Page, email: str) -> None:
    page.goto("/staff/")
    page.wait_for_url(re.compile(r"/staff/login"))
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("main button[type=submit]").click()


def type_code(page: Page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.locator("form:has(input[name=code]) button[type=submit]").click()


def log_out(page: Page) -> None:
    page.locator("nav.staff-nav form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/login$"))


def test_enrol_totp_then_log_in_with_a_code_and_with_a_recovery_code(
    live_server: LiveServer, tab: Any, screenshot: Screenshot
) -> None:
    make_staff("officer", email=OFFICER, totp_secret=None)  # as `staff create` leaves it
    page = tab.page

    log_in_with_password(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/enrol$"))
    expect(page.locator("div.qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    screenshot(page, "2fa-01-enrol")
    type_code(page, pyotp.TOTP(secret).now())
    codes = [code.strip() for code in page.locator("#recovery-codes code").all_inner_texts()]
    assert len(set(codes)) == 10
    screenshot(page, "2fa-02-recovery-codes")
    page.locator("#continue").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    log_out(page)

    # With a code of the app (the one of the enrolment is spent: the next one).
    log_in_with_password(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/second-factor$"))
    screenshot(page, "2fa-03-second-step")
    type_code(page, next_totp_code(OFFICER))
    page.wait_for_url(re.compile(r"/staff/$"))
    log_out(page)

    # With a recovery code, once.
    log_in_with_password(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/second-factor$"))
    type_code(page, codes[0])
    page.wait_for_url(re.compile(r"/staff/$"))
    log_out(page)
    log_in_with_password(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/second-factor$"))
    type_code(page, codes[0])
    expect(page.locator("#code-error")).to_be_visible()
    screenshot(page, "2fa-04-recovery-code-spent")
    assert page.url.endswith("/staff/second-factor")
    assert tab.network_requests() and all(
        url.startswith(live_server.url) for url in tab.network_requests()
    )


# -- passkeys: WebAuthn wants a host name (no IP address) as the relying party ----------------


@pytest.fixture
def localhost_server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    def config_for(database_url: str, url: str) -> dict[str, Any]:
        return base_config(tmp_path, database_url, BASE_URL=url.replace("127.0.0.1", "localhost"))

    with serving(tmp_path, sqlite_template, config_for) as server:
        server.url = server.app.config["BASE_URL"]
        yield server


def virtual_authenticator(tab: Any) -> None:
    """Chromium's own authenticator (CDP WebAuthn): a platform passkey that says yes."""
    cdp = tab.context.new_cdp_session(tab.page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def test_register_and_use_a_passkey(
    browser: Any, localhost_server: LiveServer, screenshot: Screenshot
) -> None:
    staff = make_staff("admin", email=OFFICER, totp_secret=None)
    with opened_tab(browser, localhost_server, DESKTOP) as tab:
        virtual_authenticator(tab)
        page = tab.page
        log_in_with_password(page, OFFICER)
        page.wait_for_url(re.compile(r"/staff/enrol$"))
        page.locator("#passkey-enrol").click()
        page.wait_for_url(re.compile(r"/staff/enrol/finish$"))
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        screenshot(page, "2fa-05-passkey-enrolled")
        page.locator("#continue").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        db.session.expire_all()
        [passkey] = db.session.get(StaffUser, staff.id).passkeys
        assert passkey.sign_count >= 0
        log_out(page)

        log_in_with_password(page, OFFICER)
        page.wait_for_url(re.compile(r"/staff/second-factor$"))
        screenshot(page, "2fa-06-passkey-login")
        page.locator("#passkey-login").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        expect(page.locator("nav.staff-nav .who")).to_contain_text(OFFICER)
        db.session.expire_all()
        used = db.session.get(Passkey, passkey.id)
        assert used.last_used_at is not None
        assert used.sign_count >= passkey.sign_count
