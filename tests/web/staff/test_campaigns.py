"""The campaign pages for officers: write, count, preview, test, schedule, watch, and stop."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.consent.suppression import suppress_address
from alumni.extensions import db
from alumni.models import AuditEntry, Campaign, CampaignStatus, SuppressionReason
from alumni.models.purpose import Purpose
from alumni.web.staff.forms import format_years, parse_years
from tests.support.factories import answer, make_alumnus, make_campaign, make_staff
from tests.support.staff import StaffAuth, csrf_token, form_token, open_browser

DRAFT = {
    "purpose": "events",
    "subject": "Alumnidag 2027",
    "body": "Kom naar de **alumnidag** op 12 maart.",
    "graduation_years": "",
    "tracking": "y",
    "action": "save",
}


@pytest.fixture
def client(app):
    return open_browser(app)


@pytest.fixture
def officer(app, client):
    staff = make_staff("officer", email="officer@school.example")
    StaffAuth(client).login(staff.email)
    return staff


def post_form(client, url: str, data: dict, form_url: str | None = None):
    """Send a form as the browser would: with the CSRF token of the page it is on."""
    token = form_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data})


def page(response) -> str:
    return response.get_data(as_text=True)


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# -- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("researcher", 403), ("officer", 200), ("admin", 200)]
)
def test_campaign_pages_need_the_officer_role(app, client, role, status):
    campaign = make_campaign()
    make_staff(role, email=f"{role}@school.example")
    StaffAuth(client).login(f"{role}@school.example")
    for url in (
        "/staff/campaigns",
        "/staff/campaigns/new",
        f"/staff/campaigns/{campaign.id}",
        f"/staff/campaigns/{campaign.id}/preview",
        f"/staff/campaigns/{campaign.id}/progress",
        "/staff/campaigns/audience?purpose=events",
    ):
        assert client.get(url).status_code == status, url


def test_a_researcher_cannot_send_even_with_a_valid_form(app, client):
    campaign = make_campaign()
    make_staff("researcher", email="researcher@school.example")
    StaffAuth(client).login("researcher@school.example")
    token = form_token(client, "/staff/password")
    response = client.post(
        f"/staff/campaigns/{campaign.id}/schedule", data={"csrf_token": token, "action": "now"}
    )
    assert response.status_code == 403
    assert db.session.get(Campaign, campaign.id, populate_existing=True).status is (
        CampaignStatus.DRAFT
    )


# -- writing a draft -----------------------------------------------------------------------------


def test_an_officer_writes_a_draft(app, client, officer):
    make_alumnus(programme="Logistiek")
    response = post_form(
        client,
        "/staff/campaigns/new",
        {**DRAFT, "programme": ["Logistiek"], "graduation_years": "2019-2021, 2024"},
    )
    assert response.status_code == 303
    campaign = db.session.scalars(sa.select(Campaign)).one()
    assert response.location == f"/staff/campaigns/{campaign.id}"
    assert campaign.purpose is Purpose.EVENTS
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.programmes == ["Logistiek"]
    assert campaign.graduation_years == [2019, 2020, 2021, 2024]
    assert campaign.created_by_id == officer.id
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "campaign.created")
    ).one()
    assert entry.actor == f"staff:{officer.id}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"purpose": ""}, "Choose the purpose this email serves."),
        ({"purpose": "marketing"}, "Not a valid choice"),
        ({"subject": ""}, "Write a subject."),
        ({"subject": "Hello\r\nBcc: everyone@example.org"}, "one line, without line breaks"),
        ({"subject": "x" * 201}, "At most 200 characters."),
        ({"body": "  "}, "Write the message."),
        ({"graduation_years": "twenty twenty"}, "Write years as 2021"),
        ({"graduation_years": "2022-2019"}, "the first of a range before the last"),
        ({"graduation_years": "1850"}, "Graduation years lie between 1950"),
        ({"programme": ["Nobody studies this"]}, "not a valid choice"),
    ],
)
def test_a_wrong_value_is_named_and_nothing_is_saved(app, client, officer, change, message):
    response = post_form(client, "/staff/campaigns/new", {**DRAFT, **change})
    assert response.status_code == 400
    assert message.lower() in page(response).lower()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_the_count_button_counts_without_saving(app, client, officer):
    for year in (2020, 2021, 2022):
        answer(make_alumnus(graduation_year=year), {Purpose.EVENTS})
    answer(make_alumnus(graduation_year=2021), {Purpose.COURSES})
    response = post_form(
        client,
        "/staff/campaigns/new",
        {**DRAFT, "graduation_years": "2021-2022", "action": "count"},
    )
    assert response.status_code == 200
    assert "2 alumni consent to this now." in page(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_the_live_count_follows_purpose_and_filters(app, client, officer):
    answer(make_alumnus(programme="Zorg", graduation_year=2020), {Purpose.EVENTS})
    answer(make_alumnus(programme="Logistiek", graduation_year=2020), {Purpose.EVENTS})
    answer(make_alumnus(programme="Zorg", graduation_year=2023), {Purpose.SURVEYS})

    def count(query: str):
        return client.get(f"/staff/campaigns/audience?{query}").get_json()

    assert count("purpose=events") == {"count": 2, "text": "2 alumni consent to this now."}
    assert count("purpose=events&programme=Zorg")["count"] == 1
    assert count("purpose=surveys&graduation_years=2020")["count"] == 0
    assert count("purpose=surveys&graduation_years=2023")["text"] == (
        "1 alumnus consents to this now."
    )
    assert count("purpose=nonsense") == {"count": None, "text": ""}
    assert count("purpose=events&graduation_years=abc") == {"count": None, "text": ""}


def test_only_a_draft_can_be_edited(app, client, officer):
    campaign = make_campaign(graduation_years=[2019, 2020, 2022])
    edit = f"/staff/campaigns/{campaign.id}/edit"
    shown = page(client.get(edit))
    assert 'value="2019-2020, 2022"' in shown
    response = post_form(client, edit, {**DRAFT, "subject": "Alumnidag, nieuwe datum"})
    assert response.status_code == 303
    assert db.session.get(Campaign, campaign.id, populate_existing=True).subject == (
        "Alumnidag, nieuwe datum"
    )

    post_form(client, f"/staff/campaigns/{campaign.id}/schedule", {"action": "now"}, edit)
    response = client.get(edit)
    assert response.status_code == 303
    assert "Only a draft can be changed" in page(client.get(response.location))


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("", []),
        ("2021", [2021]),
        ("2019 - 2021, 2024", [2019, 2020, 2021, 2024]),
        ("2020,2020", [2020]),
    ],
)
def test_years_are_read_as_officers_write_them(text, years):
    assert parse_years(text) == years


def test_years_are_written_back_as_ranges():
    assert format_years([2024, 2019, 2020, 2021]) == "2019-2021, 2024"
    assert format_years([]) == ""


# -- looking at it -------------------------------------------------------------------------------


def test_the_preview_shows_the_email_as_a_recipient_gets_it(app, client, officer):
    campaign = make_campaign(subject="Gastles geven?", body="Wie komt er **vertellen**?")
    response = client.get(f"/staff/campaigns/{campaign.id}/preview?lang=en")
    html = page(response)
    assert response.status_code == 200
    assert "Gastles geven?" in html
    assert "List-Unsubscribe-Post" in html and "List-Unsubscribe=One-Click" in html
    frame = re.search(r'<iframe[^>]*\bsandbox\b[^>]*srcdoc="([^"]*)"', html)
    assert frame and "&lt;strong&gt;vertellen&lt;/strong&gt;" in frame.group(1)
    assert "You receive this email because you said yes" in html  # the English footer
    assert "/unsubscribe/preview" in html  # no link of a real person


def test_a_test_goes_to_the_officers_own_address_only(app, client, officer, outbox):
    answer(make_alumnus(), {Purpose.EVENTS})
    campaign = make_campaign()
    detail = f"/staff/campaigns/{campaign.id}"
    response = post_form(client, f"{detail}/test", {"lang": "en"}, detail)
    assert response.status_code == 303
    [message] = outbox
    assert message["To"] == "officer@school.example"
    assert message["Subject"] == "[Test] Alumnidag 2027"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "campaign.test_sent" in audit_actions()
    assert "A test is on its way to officer@school.example." in page(client.get(detail))


def test_a_test_that_the_mail_server_refuses_is_said_plainly(app, client, officer, monkeypatch):
    from alumni import mail

    def refuse(message):
        raise mail.TemporaryFailure("SMTP server unreachable")

    monkeypatch.setattr(app.extensions["mail"], "send", refuse)
    campaign = make_campaign()
    detail = f"/staff/campaigns/{campaign.id}"
    response = post_form(client, f"{detail}/test", {}, detail)
    assert response.status_code == 303
    assert "The test could not be sent" in page(client.get(detail))


# -- sending it ----------------------------------------------------------------------------------


def test_schedule_reads_the_time_as_dutch_time(app, client, officer):
    campaign = make_campaign()
    detail = f"/staff/campaigns/{campaign.id}"
    winter = datetime.now(UTC).year + 2
    response = post_form(
        client,
        f"{detail}/schedule",
        {"action": "schedule", "send_at": f"{winter}-01-15T09:30"},
        detail,
    )
    assert response.status_code == 303
    campaign = db.session.get(Campaign, campaign.id, populate_existing=True)
    assert campaign.status is CampaignStatus.SCHEDULED
    assert campaign.send_at == datetime(winter, 1, 15, 8, 30, tzinfo=UTC)  # CET is UTC+1
    assert "The campaign is scheduled." in page(client.get(detail))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "schedule", "send_at": ""}, "Choose when to send it"),
        ({"action": "schedule", "send_at": "tomorrow morning"}, "That is not a date and time"),
        ({"action": "schedule", "send_at": "2001-01-01T09:00"}, "That time has passed"),
    ],
)
def test_a_wrong_time_is_said_and_nothing_changes(app, client, officer, data, message):
    campaign = make_campaign()
    detail = f"/staff/campaigns/{campaign.id}"
    response = post_form(client, f"{detail}/schedule", data, detail)
    assert response.status_code == 303
    assert message in page(client.get(detail))
    assert db.session.get(Campaign, campaign.id, populate_existing=True).status is (
        CampaignStatus.DRAFT
    )


def test_send_now_then_watch_the_counts(app, client, officer, outbox, monkeypatch):
    yes = [make_alumnus() for _ in range(3)]
    for person in yes:
        answer(person, {Purpose.EVENTS})
    campaign = make_campaign()
    detail = f"/staff/campaigns/{campaign.id}"
    post_form(client, f"{detail}/schedule", {"action": "now"}, detail)

    progress = client.get(f"{detail}/progress").get_json()
    assert progress["status"] == "scheduled" and progress["moving"] is True
    assert (progress["handled"], progress["total"]) == (0, 3)

    # The jobs are held, so that one address can bounce elsewhere between dispatch and sending.
    queued: list[tuple[str, tuple]] = []
    runtime = app.extensions["dramatiq"]
    monkeypatch.setattr(runtime, "enqueue", lambda name, *args: queued.append((name, args)))
    db.session.expire_all()  # the pages changed the campaign in sessions of their own
    sending.start_due_campaigns(sending.utcnow())
    sending.dispatch(campaign.id)
    suppress_address(yes[0].email, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    for name, args in queued:
        if name == "send_campaign_batch":
            sending.send_batch(*args)
    sending.tick()

    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in yes[1:])
    progress = client.get(f"{detail}/progress").get_json()
    assert progress["status"] == "sent" and progress["moving"] is False
    assert progress["reasons"] == [{"label": "Address on the suppression list", "count": 1}]
    html = page(client.get(detail))
    assert re.search(r"Sent</th><td[^>]*>2<", html)
    assert re.search(r"Address on the suppression list</th><td>1<", html)
    assert "100%" in html
    assert "data-progress-url" not in html  # nothing left to poll


def test_pause_resume_and_cancel(app, client, officer):
    campaign = make_campaign()
    detail = f"/staff/campaigns/{campaign.id}"
    later = (datetime.now(UTC) + timedelta(days=3)).astimezone().strftime("%Y-%m-%dT%H:%M")
    post_form(client, f"{detail}/schedule", {"action": "schedule", "send_at": later}, detail)

    def status() -> CampaignStatus:
        return db.session.get(Campaign, campaign.id, populate_existing=True).status

    post_form(client, f"{detail}/pause", {}, detail)
    assert status() is CampaignStatus.PAUSED
    post_form(client, f"{detail}/resume", {}, detail)
    assert status() is CampaignStatus.SCHEDULED
    post_form(client, f"{detail}/unschedule", {}, detail)
    assert status() is CampaignStatus.DRAFT
    post_form(client, f"{detail}/cancel", {}, detail)
    assert status() is CampaignStatus.CANCELLED
    actions = audit_actions()
    for action in ("paused", "resumed", "unscheduled", "cancelled"):
        assert f"campaign.{action}" in actions

    # A button from a page that is out of date: said in words, not a 500.
    response = post_form(client, f"{detail}/pause", {}, "/staff/campaigns")
    assert response.status_code == 303
    assert "That cannot be done any more: the campaign is now “Cancelled”." in page(
        client.get(detail)
    )


def test_buttons_need_the_csrf_token(app, client, officer):
    campaign = make_campaign()
    for action in ("schedule", "pause", "cancel", "test"):
        response = client.post(f"/staff/campaigns/{campaign.id}/{action}", data={"action": "now"})
        assert response.status_code == 400, action
    assert db.session.get(Campaign, campaign.id, populate_existing=True).status is (
        CampaignStatus.DRAFT
    )


def test_an_unknown_campaign_is_a_404(app, client, officer):
    assert client.get("/staff/campaigns/999").status_code == 404
    token = csrf_token(page(client.get("/staff/campaigns/new")))
    assert client.post("/staff/campaigns/999/cancel", data={"csrf_token": token}).status_code == (
        404
    )


def test_the_list_pages_through_the_campaigns(app, client, officer):
    for n in range(23):
        make_campaign(subject=f"Campagne {n:02d}")
    first = page(client.get("/staff/campaigns"))
    assert "Campagne 22" in first and "Campagne 02" not in first
    assert "Page 1 of 2" in first
    second = page(client.get("/staff/campaigns?page=2"))
    assert "Campagne 02" in second and "Campagne 22" not in second
    assert client.get("/staff/campaigns?page=x").status_code == 200


def test_a_sent_campaign_shows_its_opens_and_links_to_them(app, client, officer, monkeypatch):
    from alumni import opens

    campaign = make_campaign()
    campaign.status = CampaignStatus.SENT
    db.session.commit()
    monkeypatch.setattr(
        "alumni.web.staff.campaigns.campaign_opens", lambda c: opens.Opens(30, 12, 40)
    )
    html = page(client.get(f"/staff/campaigns/{campaign.id}"))
    assert "12 people opened it (30%), 30 opens in all; never who." in html
    assert f"/staff/insights/campaigns/{campaign.id}" in html
