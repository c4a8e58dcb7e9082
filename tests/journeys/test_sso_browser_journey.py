"""Single sign-on in real Chromium: a staff member signs in at the school's identity provider
(oidc-provider on loopback, its own sign-in page) and lands on the staff dashboard with the role
the provider's claim gives, not the one the account had. Password login is off, as a school
that signs its staff in centrally would have it.

The app is served with its own config (``serving``): the provider must know the app's address
(its redirect URI) before the app knows the provider's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from alumni.extensions import db
from alumni.models import Role, StaffUser
from tests.conftest import base_config, require
from tests.journeys.conftest import BrowserTab, LiveServer, Screenshot, serving
from tests.journeys.test_browser_journey import origin
from tests.support.factories import make_staff
from tests.support.identity_provider import (
    ADMIN,
    OFFICE,
    IdentityProvider,
    claims,
    node_available,
    running_provider,
)
from tests.support.staff import pass_second_step_in

pytestmark = pytest.mark.browser

EMAIL = "head.of.office@school.example"


@pytest.fixture
def identity_provider() -> Iterator[None]:
    """Only that node is there (started below, with the server's address)."""
    require("Node.js and oidc-provider", *node_available())
    yield None


@pytest.fixture
def sso_server(
    tmp_path: Path, sqlite_template: Path, identity_provider: None
) -> Iterator[tuple[LiveServer, IdentityProvider]]:
    with ExitStack() as stack:
        providers: list[IdentityProvider] = []

        def config_for(database_url: str, url: str) -> dict[str, Any]:
            provider = running_provider(tmp_path, f"{url}/staff/sso/callback")
            providers.append(stack.enter_context(provider))
            settings = providers[0].app_config(STAFF_PASSWORD_LOGIN=False)
            return base_config(tmp_path, database_url, BASE_URL=url, **settings)

        with serving(tmp_path, sqlite_template, config_for) as server:
            yield server, providers[0]


@pytest.fixture
def live_server(sso_server: tuple[LiveServer, IdentityProvider]) -> LiveServer:
    """The journeys' tab opens on this app."""
    return sso_server[0]


def test_a_staff_member_signs_in_at_the_school_and_gets_the_role_of_the_claim(
    sso_server: tuple[LiveServer, IdentityProvider], tab: BrowserTab, screenshot: Screenshot
) -> None:
    live, provider = sso_server
    provider.set_users({"head": claims(EMAIL, OFFICE, ADMIN)})
    staff = make_staff("officer", email=EMAIL)
    page = tab.page

    page.goto("/staff/audit")
    page.wait_for_url(re.compile(r"/staff/login"))
    expect(page.locator("input[name=password]")).to_have_count(0)  # password login is off
    screenshot(page, "sso-01-login")
    page.locator("#sso-login").click()

    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/interaction/"))
    page.locator("input[name=login]").fill("head")
    page.locator("input[name=password]").fill("the school's password")
    screenshot(page, "sso-02-provider")
    page.locator("button[type=submit]").click()
    pass_second_step_in(page, EMAIL)  # the product's own second factor, after the school's

    # Back from the provider, on the page that was asked for: the audit log, for admins only.
    page.wait_for_url(f"{live.url}/staff/audit")
    expect(page.locator("nav.staff-nav a[href='/staff/audit']")).to_be_visible()
    expect(page.locator("nav.staff-nav .who")).to_contain_text(EMAIL)
    page.locator("nav.staff-nav a[href='/staff/']").click()
    page.wait_for_url(f"{live.url}/staff/")
    screenshot(page, "sso-03-dashboard")
    db.session.expire_all()
    assert db.session.get(StaffUser, staff.id).role is Role.ADMIN

    # Nothing but the app and the school's provider was asked for anything.
    origins = {origin(url) for url in tab.network_requests()}
    assert origins <= {live.url, provider.issuer}, origins
