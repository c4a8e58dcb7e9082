"""The alumni officer's journey in real Chromium: log in, write a campaign while the audience
count follows the filters, preview it, send a test, send it, watch the progress bar move, and
read the counts. The scheduler runs on a thread as in `make run`; the send rate is low enough
that the progress can be watched. Every step leaves a screenshot in test-artifacts/screenshots/.

Elements are found by role, link target, field name or button value, never by prose.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from alumni.extensions import db
from alumni.models import Campaign, CampaignStatus
from alumni.models.purpose import Purpose
from tests.journeys.conftest import BrowserTab, LiveServer, Screenshot
from tests.journeys.test_browser_journey import expect_only_own_origin
from tests.support.factories import STAFF_PASSWORD, answer, make_alumnus, make_staff
from tests.support.staff import pass_second_step_in

pytestmark = pytest.mark.browser

OFFICER = "officer@school.example"
RECIPIENTS = 30
SEND_RATE = 6  # messages per second: five seconds of sending to watch


@pytest.fixture
def scheduler(live_server: LiveServer) -> Iterator[None]:
    """The embedded scheduler, ticking twice a second."""
    from worker import scheduler as embedded

    live_server.app.config.update(TICK_SECONDS=0.5, SEND_RATE=SEND_RATE)
    stop = embedded.start_in_background(live_server.app)
    try:
        yield
    finally:
        stop.set()


def people(live: LiveServer) -> None:
    """Alumni of 2022 who said yes to events, one of 2021, and one who said yes to courses."""
    for _ in range(RECIPIENTS):
        answer(make_alumnus(graduation_year=2022), {Purpose.EVENTS})
    answer(make_alumnus(graduation_year=2021), {Purpose.EVENTS})
    answer(make_alumnus(graduation_year=2022), {Purpose.COURSES})
    make_staff("officer", email=OFFICER)


def test_an_officer_sends_a_campaign_and_watches_it_go(
    live_server: LiveServer, scheduler: None, tab: BrowserTab, screenshot: Screenshot
) -> None:
    people(live_server)
    page = tab.page

    page.goto("/staff/")
    page.wait_for_url(re.compile(r"/staff/login"))
    page.locator("input[name=email]").fill(OFFICER)
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    screenshot(page, "staff-01-login")
    page.locator("main button[type=submit]").click()
    pass_second_step_in(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/$"))
    screenshot(page, "staff-02-dashboard")

    page.locator("nav a[href='/staff/campaigns']").click()
    page.locator("main a[href='/staff/campaigns/new']").click()
    page.locator("input[name=purpose][value=events]").check()
    page.locator("input[name=subject]").fill("Alumnidag 2027")
    page.locator("textarea[name=body]").fill(
        "Kom naar de **alumnidag** op 12 maart.\n\n[Aanmelden](https://school.example/dag)"
    )
    count = page.locator("#audience-count")
    expect(count).to_contain_text(str(RECIPIENTS + 1))  # the live count: every year
    page.locator("input[name=graduation_years]").fill("2022")
    expect(count).to_contain_text(str(RECIPIENTS))  # ... and after the filter
    expect(count).not_to_contain_text(str(RECIPIENTS + 1))
    screenshot(page, "staff-03-new-campaign")
    page.locator("button[name=action][value=save]").click()
    page.wait_for_url(re.compile(r"/staff/campaigns/\d+$"))
    expect(page.get_by_role("status")).to_be_visible()  # "the draft is saved"
    screenshot(page, "staff-04-draft")
    detail = page.url

    page.locator("main a[href$='/preview']").click()
    frame = page.frame_locator("iframe.mail-html")
    expect(frame.locator("strong")).to_have_text("alumnidag")
    expect(frame.locator("a[href*='/unsubscribe/']")).to_have_count(1)  # the visible opt-out
    screenshot(page, "staff-05-preview")
    page.goto(detail)

    page.locator("form[action$='/test'] button").click()
    expect(page.get_by_role("status")).to_contain_text(OFFICER)
    tests = list(live_server.outbox.glob("*.eml"))
    assert len(tests) == 1 and f"To: {OFFICER}" in tests[0].read_text()

    page.locator("button[name=action][value=now]").click()
    page.wait_for_url(detail)
    bar = page.locator("#progress-bar")
    expect(bar).to_be_visible()
    # The page follows by itself: the bar fills while the emails leave.
    page.wait_for_function(
        "() => { const bar = document.getElementById('progress-bar');"
        " return bar && bar.value > 0 && bar.value < bar.max; }",
        timeout=20_000,
    )
    screenshot(page, "staff-06-sending")
    expect(page.locator("[data-count=sent]")).to_have_text(str(RECIPIENTS), timeout=30_000)
    expect(page.locator("#campaign-status")).to_have_class(re.compile(r"status-sent"))
    expect(page.locator("[data-count=failed]")).to_have_text("0")
    screenshot(page, "staff-07-sent")

    db.session.expire_all()
    campaign = db.session.scalars(db.select(Campaign)).one()
    assert campaign.status is CampaignStatus.SENT
    sent = [path for path in live_server.outbox.glob("*.eml") if path not in tests]
    assert len(sent) == RECIPIENTS
    expect_only_own_origin(tab, live_server)


def test_an_officer_imports_the_administrations_file_and_invites_the_graduates(
    live_server: LiveServer, tab: BrowserTab, screenshot: Screenshot
) -> None:
    from tests.support.graduates import MIXED, MIXED_GOOD, MIXED_REJECTED

    make_staff("officer", email=OFFICER)
    page = tab.page
    page.goto("/staff/login")
    page.locator("input[name=email]").fill(OFFICER)
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("main button[type=submit]").click()
    pass_second_step_in(page, OFFICER)
    page.wait_for_url(re.compile(r"/staff/$"))

    page.locator("nav a[href='/staff/import']").click()
    page.locator("input[name=csv_file]").set_input_files(str(MIXED))
    page.locator("form[action='/staff/import'] button[type=submit]").click()
    rejected = page.locator("#rejected-rows tbody tr")
    expect(rejected).to_have_count(len(MIXED_REJECTED))
    expect(rejected.first.locator("td").first).to_have_text(str(MIXED_REJECTED[0][0]))
    screenshot(page, "staff-08-import-report")

    page.locator("select[name=cohort]").select_option("all")
    page.locator("form[action='/staff/invite'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/import$"))
    expect(page.get_by_role("status").first).to_contain_text(str(len(MIXED_GOOD)))
    screenshot(page, "staff-09-invitations")

    deadline = time.monotonic() + 20  # the web process's own worker sends them
    while len(list(live_server.outbox.glob("*.eml"))) < len(MIXED_GOOD):
        assert time.monotonic() < deadline, "the invitations did not arrive in the outbox"
        time.sleep(0.2)
    assert len(list(live_server.outbox.glob("*.eml"))) == len(MIXED_GOOD)
    expect_only_own_origin(tab, live_server)
