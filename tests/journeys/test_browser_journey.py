"""The alumni journey in real Chromium, as a person does it after `make run`: open the dev
outbox, open an invitation, follow its link, answer per purpose, then change a choice on the
preferences page. Every step leaves a full-page screenshot in test-artifacts/screenshots/.

Elements are found by role, by link target, or by the field names of the contract (one field
per purpose code, valued yes or no), never by prose: the pages speak Dutch or English.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, ConsentEvidence, ConsentState, EvidenceChannel
from alumni.models.purpose import Purpose
from tests.journeys.conftest import PHONE, BrowserTab, LiveServer, Screenshot
from tests.support.factories import CSV_HEADER

pytestmark = pytest.mark.browser

SANNE = "sanne.devries@alumni.example"
DAAN = "daan.jansen@alumni.example"
CSV = "\n".join(
    [
        CSV_HEADER,
        # A typo in the preferred name, for Sanne to correct on the form.
        f"S2001,Sanne,de Vries,Sannne,{SANNE},0612345678,v,1999-04-12,Verpleegkunde,2021",
        f"S2002,Daan,Jansen,,{DAAN},,m,2000-09-30,Software Developer,2022",
        "S2003,Fatima,El Amrani,,fatima.elamrani@alumni.example,,f,1998-01-05,Logistiek,2020",
    ]
)
FIRST_ANSWERS = {
    Purpose.COURSES: True,
    Purpose.VACANCIES: False,
    Purpose.EVENTS: True,
    Purpose.RESEARCH: False,
    Purpose.SURVEYS: False,
}
CHANGED = Purpose.RESEARCH  # no on the form, then yes on the preferences page
# Playwright sends patterns to the browser as JavaScript regexes: escape the slashes.
OPTIN_LINK = re.compile(r"\/optin\/")
YES = r"(yes|ja)"
NO = r"(no|nee)"


# -- steps ------------------------------------------------------------------------------------


def import_and_invite(live: LiveServer, tmp_path: Path) -> None:
    """What an alumni officer does on the command line; mail lands in the dev outbox."""
    csv_file = tmp_path / "graduates.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    runner = live.app.test_cli_runner()
    imported = runner.invoke(args=["import", str(csv_file)])
    assert imported.exit_code == 0, imported.output
    invited = runner.invoke(args=["invite"])
    assert invited.exit_code == 0, invited.output
    # The in-process worker finished before `invite` returned.
    assert len(list(live.outbox.glob("*.eml"))) == 3


def open_invitation(page: Page, email: str, screenshot: Screenshot, prefix: str) -> Locator:
    """From the outbox to the invitation for ``email``; returns the opt-in link in its text."""
    page.goto("/dev/outbox")
    rows = page.get_by_role("row").filter(has_text=email)
    expect(rows).to_have_count(1)
    screenshot(page, f"{prefix}-01-outbox")
    subject = rows.get_by_role("link")
    if horizontal_overflow(page) > 0:
        # The outbox table is wider than a phone (a dev page: reported, not asserted here).
        # The phone browser zooms out to fit it, and Playwright's taps then miss; Enter works.
        subject.focus()
        page.keyboard.press("Enter")
    else:
        subject.click()
    page.wait_for_url(re.compile(r"/dev/outbox/[0-9a-f]{32}\.eml$"))
    expect(page.get_by_role("heading", level=1)).not_to_be_empty()
    # The HTML part, in its sandboxed frame, carries the same link. Chromium paints an
    # off-screen cross-origin frame only once it was scrolled into view: do so first.
    frame = page.locator("iframe")
    expect(frame.content_frame.locator("a[href*='/optin/']").first).to_be_visible()
    frame.scroll_into_view_if_needed()
    screenshot(page, f"{prefix}-02-invitation")
    # Back to the top, and let a frame pass: a click right after the full-page screenshot
    # of a scrolled page sometimes lands on the frame instead of the link.
    page.evaluate(
        "() => new Promise(done => { scrollTo(0, 0); requestAnimationFrame(() => done()); })"
    )
    # The plain-text part shows the link as its own text; the HTML part is in a frame.
    link = page.get_by_role("link", name=OPTIN_LINK)
    expect(link).to_have_count(1)
    return link


def follow_invitation(page: Page, email: str, screenshot: Screenshot, prefix: str) -> str:
    """Click through the outbox to the consent form; returns its URL."""
    open_invitation(page, email, screenshot, prefix).click()
    page.wait_for_url(re.compile(r"/optin/[^/]+$"))
    expect(radios(page)).to_have_count(2 * len(Purpose))
    return page.url


def radio(page: Page, purpose: Purpose, answer: str) -> Locator:
    return page.locator(f"input[type=radio][name='{purpose.value}'][value='{answer}']")


def radios(page: Page) -> Locator:
    return page.locator("input[type=radio]")


def choose(page: Page, purpose: Purpose, yes: bool) -> None:
    """Click the visible label of the yes or no option, as a person does."""
    answer = "yes" if yes else "no"
    page.locator("label", has=radio(page, purpose, answer)).click()
    expect(radio(page, purpose, answer)).to_be_checked()


def expect_choices(page: Page, choices: dict[Purpose, bool]) -> None:
    for purpose, yes in choices.items():
        expect(radio(page, purpose, "yes" if yes else "no")).to_be_checked()
        expect(radio(page, purpose, "no" if yes else "yes")).not_to_be_checked()


def legend_of(page: Page, purpose: Purpose) -> str:
    fieldset = page.locator("fieldset", has=radio(page, purpose, "yes"))
    return fieldset.locator(":scope > legend").inner_text().strip()


def submit_consent_form(page: Page) -> int:
    button = page.locator("form", has=radios(page)).locator("button[type=submit]")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        button.click()
    page.wait_for_load_state()
    return posted.value.status


def save_preferences(page: Page) -> None:
    page.locator("button[name=action][value=save]").click()
    page.wait_for_url(re.compile(r"/preferences/[^/?]+\?saved=1$"))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def expect_only_own_origin(tab: BrowserTab, live: LiveServer) -> None:
    """The privacy promise: no CDN, web font, analytics or any other third party."""
    requests = tab.network_requests()
    assert any(url.endswith("/static/style.css") for url in requests), requests
    foreign = sorted({url for url in requests if origin(url) != live.url})
    assert foreign == [], f"requests to other origins than {live.url}: {foreign}"


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def find_alumnus(email: str) -> Alumnus:
    db.session.remove()  # see what the server committed, not an old snapshot
    alumnus = db.session.scalar(sa.select(Alumnus).where(Alumnus.email == email))
    assert alumnus is not None
    return alumnus


# -- the journey ------------------------------------------------------------------------------


def test_a_graduate_answers_and_changes_their_mind_in_chromium(
    live_server: LiveServer, tab: BrowserTab, screenshot: Screenshot, tmp_path: Path
) -> None:
    import_and_invite(live_server, tmp_path)
    page = tab.page

    follow_invitation(page, SANNE, screenshot, "journey")
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^(nl|en)"))
    expect(page.locator("input[type=radio]:checked")).to_have_count(0)  # nothing pre-ticked
    preferred_name = page.locator("input[name=preferred_name]")
    expect(preferred_name).to_have_value("Sannne")
    screenshot(page, "journey-03-consent-form")

    legends = {purpose: legend_of(page, purpose) for purpose in Purpose}
    for purpose, yes in FIRST_ANSWERS.items():
        choose(page, purpose, yes)
    preferred_name.fill("Sanne")
    screenshot(page, "journey-04-consent-form-filled")

    assert submit_consent_form(page) == 200
    # The confirmation lists every purpose, in the form's order, with the answer given.
    items = page.get_by_role("main").get_by_role("listitem")
    expect(items).to_have_count(len(Purpose))
    for item, (purpose, yes) in zip(items.all(), FIRST_ANSWERS.items(), strict=True):
        answer = YES if yes else NO
        expect(item).to_have_text(
            re.compile(rf"^\s*{re.escape(legends[purpose])}\s+{answer}\s*$", re.IGNORECASE)
        )
    screenshot(page, "journey-05-confirmation")

    page.get_by_role("main").locator("a[href*='/preferences/']").click()
    page.wait_for_url(re.compile(r"/preferences/[^/?]+$"))
    expect_choices(page, FIRST_ANSWERS)
    expect(page.locator("input[name=preferred_name]")).to_have_value("Sanne")
    screenshot(page, "journey-06-preferences")

    choose(page, CHANGED, True)
    screenshot(page, "journey-07-preferences-changed")
    save_preferences(page)
    expect(page.get_by_role("status")).to_be_visible()
    final = {**FIRST_ANSWERS, CHANGED: True}
    expect_choices(page, final)
    screenshot(page, "journey-08-preferences-saved")

    alumnus = find_alumnus(SANNE)
    assert alumnus.status is AlumnusStatus.RESPONDED
    assert alumnus.preferred_name == "Sanne"
    assert alumnus.first_name == "Sanne"
    assert {c.purpose: c.state is ConsentState.GRANTED for c in alumnus.consents} == final
    evidence = db.session.scalars(
        sa.select(ConsentEvidence)
        .where(ConsentEvidence.subject_id == alumnus.subject_id)
        .order_by(ConsentEvidence.id)
    ).all()
    recorded = [(e.channel, e.purpose, e.decision is ConsentState.GRANTED) for e in evidence]
    assert recorded == [
        *((EvidenceChannel.OPTIN_FORM, purpose, yes) for purpose, yes in FIRST_ANSWERS.items()),
        (EvidenceChannel.PREFERENCES, CHANGED, True),
    ]
    assert {e.notice_version for e in evidence} == {"2026-11"}  # the first notice, in force
    # Nobody else answered.
    assert find_alumnus(DAAN).status is AlumnusStatus.INVITED

    expect_only_own_origin(tab, live_server)


def test_the_consent_form_fits_a_phone(
    live_server: LiveServer, phone_tab: BrowserTab, screenshot: Screenshot, tmp_path: Path
) -> None:
    import_and_invite(live_server, tmp_path)
    page = phone_tab.page

    follow_invitation(page, DAAN, screenshot, "phone")
    screenshot(page, "phone-03-consent-form")
    # The page asks for the device's width (meta viewport), and nothing sticks out sideways.
    assert page.evaluate("() => document.documentElement.clientWidth") == PHONE["width"]
    assert horizontal_overflow(page) <= 0

    for purpose, yes in FIRST_ANSWERS.items():
        choose(page, purpose, yes)
    assert submit_consent_form(page) == 200
    screenshot(page, "phone-04-confirmation")
    assert horizontal_overflow(page) <= 0

    page.get_by_role("main").locator("a[href*='/preferences/']").click()
    page.wait_for_url(re.compile(r"/preferences/[^/?]+$"))
    screenshot(page, "phone-05-preferences")
    assert horizontal_overflow(page) <= 0

    expect_only_own_origin(phone_tab, live_server)


# -- accessibility ----------------------------------------------------------------------------


def expect_labelled_fields(page: Page) -> None:
    """Every visible input and select has an accessible name (a label, not a placeholder)."""
    fields = page.locator(
        "input:not([type=hidden]):visible, select:visible, textarea:visible"
    ).all()
    assert len(fields) >= 2 * len(Purpose) + 9  # the radios and the nine personal fields
    for field in fields:
        expect(field).to_have_accessible_name(re.compile(r"\S"))


def expect_purpose_groups(page: Page) -> None:
    """Each purpose's yes and no sit in a fieldset whose legend names the group."""
    for purpose in Purpose:
        options = page.locator(f"input[type=radio][name='{purpose.value}']")
        expect(options).to_have_count(2)
        legends = options.evaluate_all(
            """options => options.map(option => {
                const fieldset = option.closest('fieldset');
                const legend = fieldset && fieldset.querySelector(':scope > legend');
                return legend ? legend.textContent.trim() : '';
            })"""
        )
        assert legends[0] and legends == [legends[0]] * 2, (purpose, legends)
        group = page.get_by_role("group", name=legends[0], exact=True)
        expect(group.locator(f"input[name='{purpose.value}']")).to_have_count(2)


def test_the_forms_are_accessible(
    live_server: LiveServer, tab: BrowserTab, screenshot: Screenshot, tmp_path: Path
) -> None:
    import_and_invite(live_server, tmp_path)
    page = tab.page
    follow_invitation(page, SANNE, screenshot, "a11y")

    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^[a-z]{2}"))
    expect_labelled_fields(page)
    expect_purpose_groups(page)

    # Keyboard only: Tab from the top reaches the first purpose's radios, with a visible focus.
    page.reload()
    first_radio = radio(page, Purpose.COURSES, "yes")
    for _ in range(30):
        page.keyboard.press("Tab")
        if first_radio.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the first purpose's radio buttons")
    outline = first_radio.evaluate(
        "element => { const s = getComputedStyle(element);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    screenshot(page, "a11y-03-keyboard-focus-on-first-radio")
    page.keyboard.press("Space")
    expect(first_radio).to_be_checked()

    # The preferences page has the same groups, plus the language and the withdraw box.
    for purpose, yes in FIRST_ANSWERS.items():
        choose(page, purpose, yes)
    assert submit_consent_form(page) == 200
    page.get_by_role("main").locator("a[href*='/preferences/']").click()
    page.wait_for_url(re.compile(r"/preferences/[^/?]+$"))
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^[a-z]{2}"))
    expect_labelled_fields(page)
    expect_purpose_groups(page)
    screenshot(page, "a11y-04-preferences")

    expect_only_own_origin(tab, live_server)


# -- bad links --------------------------------------------------------------------------------


def tampered(url: str) -> str:
    """The same link with one character of its signature changed (not the last: base64's
    final character carries spare bits, so changing it may leave the signature intact)."""
    position = len(url) - 8
    replacement = "B" if url[position] == "A" else "A"
    return url[:position] + replacement + url[position + 1 :]


def test_a_tampered_link_shows_the_friendly_page(
    live_server: LiveServer, tab: BrowserTab, screenshot: Screenshot, tmp_path: Path
) -> None:
    import_and_invite(live_server, tmp_path)
    page = tab.page
    href = open_invitation(page, SANNE, screenshot, "bad-link").get_attribute("href")
    assert href and href.startswith(f"{live_server.url}/optin/")

    response = page.goto(tampered(href))
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).not_to_be_empty()
    fresh_link = page.get_by_role("main").locator("a[href='/link']")
    expect(fresh_link).to_be_visible()
    assert "Traceback" not in page.content()
    screenshot(page, "bad-link-03-tampered")

    # An opt-in token does not open the preferences either.
    wrong_kind = href.replace("/optin/", "/preferences/")
    response = page.goto(wrong_kind)
    assert response is not None and response.status == 400
    expect(fresh_link).to_be_visible()
    screenshot(page, "bad-link-04-wrong-kind")

    # The way out: ask for a fresh link by email.
    fresh_link.click()
    page.wait_for_url(re.compile(r"/link$"))
    screenshot(page, "bad-link-05-fresh-link-form")
    page.locator("input[name=email]").fill(SANNE)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.locator("main form button[type=submit]").click()
    assert posted.value.status == 200
    screenshot(page, "bad-link-06-fresh-link-sent")
    live_server.app.extensions["dramatiq"].finish_queued_work()
    assert len(list(live_server.outbox.glob("*.eml"))) == 4
    page.goto("/dev/outbox")
    # The newest mail (first row) carries a fresh, working opt-in link.
    page.get_by_role("row").filter(has_text=SANNE).first.get_by_role("link").click()
    page.get_by_role("link", name=OPTIN_LINK).click()
    page.wait_for_url(re.compile(r"/optin/[^/]+$"))
    expect(radios(page)).to_have_count(2 * len(Purpose))

    expect_only_own_origin(tab, live_server)
