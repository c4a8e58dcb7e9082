"""Staff insights: consent over time and campaign opens, for officers and admins; numbers
only, opens shown from OPENS_MIN_RECIPIENTS emails sent; charts with a text alternative."""

from __future__ import annotations

import re

import pytest

from alumni.models.purpose import Purpose
from tests.support.factories import answer, make_alumnus, make_campaign, make_staff
from tests.support.opens import pixel_paths, send_campaign
from tests.support.staff import Browser, StaffAuth, open_browser

INSIGHTS = "/staff/insights"


@pytest.fixture
def config_overrides():
    return {"OPENS_MIN_RECIPIENTS": 4}


@pytest.fixture
def browser(app) -> Browser:
    return open_browser(app)


def log_in(browser: Browser, role: str) -> Browser:
    make_staff(role, email=f"{role}@school.example")
    StaffAuth(browser).login(f"{role}@school.example")
    return browser


def page(browser: Browser, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def table_rows(html: str) -> dict[str, list[str]]:
    """First cell -> the other cells, for every body row of the page's tables."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize(
    ("role", "status"), [("officer", 200), ("admin", 200), ("researcher", 403)]
)
def test_insights_are_for_officers_and_admins(app, browser, role, status):
    log_in(browser, role)
    campaign = make_campaign()
    assert browser.get(INSIGHTS).status_code == status
    assert browser.get(f"{INSIGHTS}/campaigns/{campaign.id}").status_code == status
    dashboard = page(browser, "/staff/")
    assert (f'href="{INSIGHTS}"' in dashboard) is (status == 200)


def test_anonymous_visitors_go_to_the_login(app, browser):
    response = browser.get(INSIGHTS)
    assert response.status_code == 302 and response.location.startswith("/staff/login")


def test_consent_over_time_is_a_chart_with_a_table(app, browser):
    answer(make_alumnus(), {Purpose.EVENTS, Purpose.COURSES})
    answer(make_alumnus(), {Purpose.EVENTS})
    html = page(log_in(browser, "officer"), INSIGHTS)
    assert html.count('role="img"') == len(Purpose)  # a chart per purpose
    title = 'Decisions about "Events and activities" per day'
    assert f'<title id="consent-chart-events-title">{title}</title>' in html
    assert re.search(
        r'<desc id="consent-chart-events-desc">From .+ Yes: 2 in all\. No or withdrawn: 0 in all\.',
        html,
    )
    # The table of the events chart: one day, two yes.
    events = html.split('id="consent-events"')[1].split("</table>")[0]
    assert list(table_rows(events).values())[-1] == ["2", "0"]
    courses = html.split('id="consent-courses"')[1].split("</table>")[0]
    assert list(table_rows(courses).values())[-1] == ["1", "1"]
    assert "<script" not in html and "https://" not in html


def test_without_any_decision_there_is_no_chart(app, browser):
    html = page(log_in(browser, "officer"), INSIGHTS)
    assert "No decisions have been recorded yet." in html and "<svg" not in html
    assert "No campaign has been sent yet." in html


def test_the_campaign_list_shows_opens_only_where_they_may_be_shown(app, browser, client, outbox):
    small = send_campaign(app, 3, subject="Klein")
    outbox.clear()
    untracked = send_campaign(app, 2, subject="Zonder meten", tracking=False)
    outbox.clear()
    large = send_campaign(app, 3, subject="Groot")  # 8 recipients: everyone consents to events
    first, second = pixel_paths(outbox)[:2]
    for path in (first, first, second):
        client.get(path)
    make_campaign(subject="Concept")  # a draft is not listed
    html = page(log_in(browser, "officer"), INSIGHTS)
    rows = table_rows(html.split('id="campaigns"')[1])
    assert rows["Groot"][1:] == ["8", "2", "3", "25%"]
    assert rows["Klein"][1:] == ["3", "too few emails to show"]
    assert rows["Zonder meten"][1:] == ["5", "not measured"]
    assert "Concept" not in rows
    assert f'href="{INSIGHTS}/campaigns/{large.id}"' in html
    assert small.id != large.id and untracked.id


def test_the_campaign_page_shows_counts_rate_and_a_chart(app, browser, client, outbox):
    campaign = send_campaign(app, 4)
    first, second = pixel_paths(outbox)[:2]
    for path in (first, second, second):
        client.get(path)
    html = page(log_in(browser, "admin"), f"{INSIGHTS}/campaigns/{campaign.id}")
    found = dict(re.findall(r"<li><span>([^<]+)</span> <strong>([^<]+)</strong></li>", html))
    assert found == {
        "Emails opened (each email once)": "2",
        "All opens (an email opened twice counts twice)": "3",
        "Open rate (emails opened of emails sent)": "50%",
    }
    assert '<title id="opens-chart-title">Opens per hour</title>' in html
    assert re.search(r"All opens: 3 in all\. Emails opened: 2 in all\.", html)
    assert html.count("<rect ") == 2  # one hour, two series


def test_below_the_threshold_the_campaign_page_shows_no_counts(app, browser, client, outbox):
    campaign = send_campaign(app, 3)
    client.get(pixel_paths(outbox)[0])
    html = page(log_in(browser, "officer"), f"{INSIGHTS}/campaigns/{campaign.id}")
    assert "This campaign sent 3." in html
    assert "<svg" not in html and "Emails opened (each email once)" not in html


def test_a_draft_and_an_unknown_campaign(app, browser):
    draft = make_campaign()
    log_in(browser, "officer")
    assert "This campaign has not been sent yet." in page(
        browser, f"{INSIGHTS}/campaigns/{draft.id}"
    )
    assert browser.get(f"{INSIGHTS}/campaigns/{draft.id + 1}").status_code == 404


@pytest.mark.parametrize("page_number", ["0", "-1", "x", "99", "1.5", "²"])
def test_a_bad_page_number_is_no_error(app, browser, page_number):
    log_in(browser, "officer")
    assert browser.get(f"{INSIGHTS}?page={page_number}").status_code == 200
