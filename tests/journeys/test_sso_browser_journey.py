"""Single sign-on in real Chromium: a staff member signs in at the school's identity provider
(oidc-provider on loopback, its own sign-in page) and lands on the staff dashboard with the role
the provider's claim gives, not the one the account had. Password login is off, as a school
that signs its staff in centrally would have it.

The app is served here rather than by the journeys' ``live_server``: the provider must know the
app's address (its redirect URI) before the app knows the provider's.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from alumni import create_app
from alumni.extensions import db
from alumni.models import Role, StaffUser
from tests.conftest import base_config, require
from tests.journeys.conftest import BrowserTab, LiveServer, Screenshot
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

pytestmark = pytest.mark.browser

EMAIL = "head.of.office@school.example"


class AppLater:
    """A WSGI app to be named once the server's port is known."""

    app: Callable[..., Any] | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture
def identity_provider() -> Iterator[None]:
    """Only that node is there (started below, with the server's address)."""
    require("Node.js and oidc-provider", *node_available())
    yield None


@pytest.fixture
def sso_server(
    tmp_path: Path, sqlite_template: Path, identity_provider: None
) -> Iterator[tuple[LiveServer, IdentityProvider]]:
    database = tmp_path / "alumni.sqlite3"
    shutil.copy(sqlite_template, database)
    later = AppLater()
    server = make_server("127.0.0.1", 0, later, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    with running_provider(tmp_path, f"{url}/staff/sso/callback") as provider:
        config = base_config(
            tmp_path,
            f"sqlite:///{database}",
            BASE_URL=url,
            **provider.app_config(STAFF_PASSWORD_LOGIN=False),
        )
        app = create_app(config, instance_path=str(tmp_path))
        later.app = app
        thread = threading.Thread(target=server.serve_forever, name="sso-server", daemon=True)
        thread.start()
        try:
            with app.app_context():
                yield LiveServer(app=app, url=url, outbox=tmp_path / "outbox"), provider
                app.extensions["dramatiq"].stop()
                db.session.remove()
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            with app.app_context():
                db.engine.dispose()


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
