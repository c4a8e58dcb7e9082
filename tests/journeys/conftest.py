"""Fixtures for journeys in a real browser: the app served over HTTP on loopback, and
Playwright driving the system Chromium (Debian's ``chromium`` package, never a download).

Without Chromium these tests are skipped with the reason; with ``CI=true`` they fail.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from alumni import create_app
from alumni.campaigns.service import schedule
from alumni.extensions import db
from alumni.models import Delivery
from alumni.models.purpose import Purpose
from tests.conftest import REDIS_URL, SMTPSink, base_config, require
from tests.support.factories import answer, make_alumnus, make_campaign

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The browser's own pseudo-URLs (the srcdoc of the mail's HTML frame); no network involved.
LOCAL_SCHEMES = ("about", "data", "blob")


@dataclass
class LiveServer:
    """The app as a person's browser sees it: real HTTP on 127.0.0.1, the dev outbox on."""

    app: Flask
    url: str
    outbox: Path


@contextmanager
def serving(
    tmp_path: Path, sqlite_template: Path, config_for: Callable[[str, str], dict[str, Any]]
) -> Iterator[LiveServer]:
    """A fresh copy of the migrated SQLite database, its app served on a free port in a thread.

    ``config_for(database_url, url)`` gives the app's config once the server's address is
    known, which the config may need (an identity provider's redirect URI)."""
    database = tmp_path / "alumni.sqlite3"
    shutil.copy(sqlite_template, database)
    named: list[Flask] = []

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return named[0](environ, start_response)

    server: BaseWSGIServer = make_server("127.0.0.1", 0, dispatch, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(config_for(f"sqlite:///{database}", url), instance_path=str(tmp_path))
    named.append(app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield LiveServer(app=app, url=url, outbox=Path(app.config["OUTBOX_PATH"]))
            app.extensions["dramatiq"].stop()
            db.session.remove()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    """The app with the dev outbox on, as ``make run`` serves it."""

    def config_for(database_url: str, url: str) -> dict[str, Any]:
        config = base_config(tmp_path, database_url, SMTP_URL=None, DEV_OUTBOX=True, BASE_URL=url)
        del config["MAIL_BACKEND"]  # unset: the dev outbox backend writes .eml files
        return config

    with serving(tmp_path, sqlite_template, config_for) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require("Chromium", CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserTab:
    """A page in its own browser context, with every request it made."""

    page: Page
    context: BrowserContext
    requests: list[str] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.requests.append(request.url)

    def network_requests(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).scheme not in LOCAL_SCHEMES]


def open_tab(browser: Browser, live_server: LiveServer, viewport: dict[str, int]) -> BrowserTab:
    phone = viewport["width"] < 600
    context = browser.new_context(
        base_url=live_server.url,
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        locale="nl-NL",  # most alumni are Dutch-speaking: the browser asks for Dutch
        timezone_id="Europe/Amsterdam",
    )
    context.set_default_timeout(10_000)
    tab = BrowserTab(page=context.new_page(), context=context)
    context.on("request", tab.record)  # the page, its frames and anything they load
    return tab


@contextmanager
def opened_tab(
    browser: Browser, live_server: LiveServer, viewport: dict[str, int]
) -> Iterator[BrowserTab]:
    opened = open_tab(browser, live_server, viewport)
    try:
        yield opened
    finally:
        opened.context.close()


@pytest.fixture
def tab(browser: Browser, live_server: LiveServer) -> Iterator[BrowserTab]:
    """A desktop-sized page."""
    with opened_tab(browser, live_server, DESKTOP) as opened:
        yield opened


@pytest.fixture
def phone_tab(browser: Browser, live_server: LiveServer) -> Iterator[BrowserTab]:
    """A phone-sized page (375 x 812 CSS pixels, touch)."""
    with opened_tab(browser, live_server, PHONE) as opened:
        yield opened


Screenshot = Callable[["Page", str], Path]


@pytest.fixture
def screenshot() -> Screenshot:
    """Save a full-page screenshot as ``test-artifacts/screenshots/NAME.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


# -- the production shape: Redis and real worker processes ------------------------------------


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A key prefix of its own in Redis for this test, cleared afterwards."""
    import uuid

    from tests.support.workers import clear_namespace, redis_available

    require("Redis", *redis_available())
    name = f"alumni-test-{uuid.uuid4().hex[:8]}"
    yield name
    clear_namespace(name)


def redis_config(smtp_server: SMTPSink, namespace: str, **extra: object) -> dict[str, object]:
    """App settings for Redis as broker and the loopback SMTP server as relay."""
    return {
        "REDIS_URL": REDIS_URL,
        "DRAMATIQ_NAMESPACE": namespace,
        "MAIL_BACKEND": None,
        "SMTP_URL": smtp_server.url,
        **extra,
    }


def scheduled_campaign_to(count: int) -> tuple[list[Any], Any]:
    """``count`` alumni who said yes to events, and an events campaign scheduled now."""
    people = [make_alumnus() for _ in range(count)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    campaign = make_campaign(Purpose.EVENTS)
    schedule(campaign)
    db.session.commit()
    return people, campaign


def deliveries_of(campaign: Any, *where: Any) -> list[int]:
    """The alumni whose delivery of ``campaign`` matches ``where``."""
    return list(
        db.session.scalars(
            sa.select(Delivery.alumnus_id).where(Delivery.campaign_id == campaign.id, *where)
        )
    )
