"""Requests handled by staff: the alumni look-up and fresh links (officers), erasure on
request (admins), the research export (researchers) and the audit log (admins)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni.consent.suppression import is_address_suppressed
from alumni.extensions import db
from alumni.models import (
    PERSONAL_FIELDS,
    Alumnus,
    AlumnusStatus,
    AuditEntry,
    EvidenceChannel,
    utcnow,
)
from alumni.models.purpose import Purpose
from alumni.people.research import as_csv
from tests.conftest import finish_jobs
from tests.support.factories import answer, make_alumnus, make_staff
from tests.support.staff import StaffAuth, form_token, open_browser


@pytest.fixture
def client(app):
    return open_browser(app)


def login(client, role: str):
    staff = make_staff(role, email=f"{role}@school.example")
    StaffAuth(client).login(staff.email)
    return staff


def post(client, url: str, data: dict, form_url: str):
    return client.post(url, data={"csrf_token": form_token(client, form_url), **data})


def page(response) -> str:
    return response.get_data(as_text=True)


def entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


# -- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/staff/alumni", {"officer", "admin"}),
        ("/staff/research-export", {"researcher", "admin"}),
        ("/staff/audit", {"admin"}),
    ],
)
@pytest.mark.parametrize("role", ["officer", "researcher", "admin"])
def test_each_page_opens_only_for_its_roles(app, client, url, allowed, role):
    login(client, role)
    assert client.get(url).status_code == (200 if role in allowed else 403)


# -- look-up and fresh links ---------------------------------------------------------------------


def test_an_officer_finds_a_person_by_address(app, client, outbox):
    officer = login(client, "officer")
    person = make_alumnus(email="sanne.devries@alumni.example")
    answer(person, {Purpose.EVENTS})
    response = post(
        client, "/staff/alumni", {"email": " Sanne.deVries@alumni.example"}, "/staff/alumni"
    )
    assert response.status_code == 303
    assert response.location == f"/staff/alumni/{person.subject_id}"
    shown = page(client.get(response.location))
    assert "sanne.devries@alumni.example" in shown
    assert "yes, since" in shown
    [looked_up] = entries("alumni.looked_up")
    assert looked_up.actor == f"staff:{officer.id}"
    assert looked_up.subject_id == person.subject_id
    assert "sanne" not in str(looked_up.details).lower()  # the address typed is never logged
    assert [e.subject_id for e in entries("alumnus.viewed")] == [person.subject_id]

    response = post(
        client, f"/staff/alumni/{person.subject_id}/link", {}, f"/staff/alumni/{person.subject_id}"
    )
    assert response.status_code == 303
    finish_jobs(app)
    [message] = outbox
    assert message["To"] == "sanne.devries@alumni.example"
    assert "/preferences/" in message.get_body(preferencelist=("plain",)).get_content()
    assert [e.subject_id for e in entries("link.sent_by_staff")] == [person.subject_id]


def test_an_unknown_address_gets_a_plain_answer(app, client):
    login(client, "officer")
    response = post(client, "/staff/alumni", {"email": "nobody@alumni.example"}, "/staff/alumni")
    assert response.status_code == 400
    assert "Nobody with this email address is in our records." in page(response)
    [entry] = entries("alumni.looked_up")
    assert entry.subject_id is None and entry.details == {"found": False}


def test_an_erased_address_is_recognised_by_its_keyed_hash(app, client):
    login(client, "officer")
    person = make_alumnus(email="gone@alumni.example")
    answer(person, set())  # no to everything: erased
    response = post(client, "/staff/alumni", {"email": "gone@alumni.example"}, "/staff/alumni")
    assert "on our suppression list" in page(response)
    assert client.get(f"/staff/alumni/{person.subject_id}").status_code == 404


def test_no_fresh_link_before_an_invitation(app, client, outbox):
    login(client, "officer")
    person = make_alumnus(status=AlumnusStatus.IMPORTED)
    detail = f"/staff/alumni/{person.subject_id}"
    post(client, f"{detail}/link", {}, detail)
    finish_jobs(app)
    assert outbox == []
    assert "has not been invited yet" in page(client.get(detail))


# -- erasure on request ----------------------------------------------------------------------


def test_an_admin_erases_on_request(app, client):
    admin = login(client, "admin")
    person = make_alumnus(email="request@alumni.example")
    answer(person, {Purpose.EVENTS, Purpose.RESEARCH})
    detail = f"/staff/alumni/{person.subject_id}"

    unconfirmed = post(client, f"{detail}/erase", {}, detail)
    assert unconfirmed.status_code == 303
    db.session.expire_all()
    assert db.session.get(Alumnus, person.id).status is AlumnusStatus.RESPONDED

    response = post(client, f"{detail}/erase", {"confirmed": "y"}, detail)
    assert response.status_code == 303
    finish_jobs(app)
    db.session.expire_all()
    erased = db.session.get(Alumnus, person.id)
    assert erased.status is AlumnusStatus.ERASED
    assert all(getattr(erased, field) is None for field in PERSONAL_FIELDS)
    assert is_address_suppressed("request@alumni.example")
    [entry] = entries("alumnus.erased")
    assert entry.actor == f"staff:{admin.id}" and entry.subject_id == person.subject_id
    from alumni.models import ConsentEvidence

    channels = set(
        db.session.scalars(
            sa.select(ConsentEvidence.channel).where(
                ConsentEvidence.subject_id == person.subject_id
            )
        )
    )
    assert EvidenceChannel.STAFF in channels


def test_an_officer_cannot_erase(app, client):
    login(client, "officer")
    person = make_alumnus()
    detail = f"/staff/alumni/{person.subject_id}"
    assert "Erase on request" not in page(client.get(detail))
    token = form_token(client, detail)
    response = client.post(f"{detail}/erase", data={"csrf_token": token, "confirmed": "y"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Alumnus, person.id).status is not AlumnusStatus.ERASED


# -- the research export ---------------------------------------------------------------------


def test_the_export_holds_only_research_consenters_and_four_fields(app, client):
    researcher = login(client, "researcher")
    yes = make_alumnus(preferred_name="Fem", email="fem@alumni.example", programme="Zorg")
    answer(yes, {Purpose.RESEARCH, Purpose.EVENTS})
    no_name = make_alumnus(first_name="Joris", email="joris@alumni.example")
    answer(no_name, {Purpose.RESEARCH})
    answer(make_alumnus(email="events.only@alumni.example"), {Purpose.EVENTS})
    paused = make_alumnus(email="paused@alumni.example")
    answer(paused, {Purpose.RESEARCH})
    from alumni.consent.answers import pause_mail

    pause_mail(paused)
    db.session.commit()

    assert "2." in page(client.get("/staff/research-export"))
    response = post(client, "/staff/research-export", {}, "/staff/research-export")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(page(response))))
    assert rows[0] == ["preferred_name", "email", "programme", "graduation_year"]
    assert sorted(rows[1:]) == [
        ["Fem", "fem@alumni.example", "Zorg", "2022"],
        ["Joris", "joris@alumni.example", "Software Developer", "2022"],
    ]
    [entry] = entries("research.exported")
    assert entry.actor == f"staff:{researcher.id}" and entry.details["count"] == 2


def test_the_export_cannot_smuggle_a_formula_into_a_spreadsheet():
    text = "".join(as_csv(iter([('=HYPERLINK("x")', "a@b.example", "+31 zorg", 2020)])))
    assert "'=HYPERLINK" in text and "'+31 zorg" in text


def test_a_researcher_sees_no_other_alumni_data(app, client):
    login(client, "researcher")
    person = make_alumnus()
    for url in (f"/staff/alumni/{person.subject_id}", "/staff/alumni", "/staff/campaigns"):
        assert client.get(url).status_code == 403


# -- the audit log ---------------------------------------------------------------------------


def test_the_audit_log_filters_by_actor_action_subject_and_day(app, client):
    admin = login(client, "admin")
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    old = AuditEntry(actor="system", action="retention.ran", details={"erased": 3})
    old.at = utcnow() - timedelta(days=40)
    db.session.add(old)
    db.session.commit()

    everything = page(client.get("/staff/audit"))
    assert "consent.answered" in everything and "staff.login" in everything
    assert "admin@school.example" in everything  # staff by their address
    assert person.email not in everything and person.last_name not in everything

    only = page(client.get("/staff/audit?action=consent.answered"))
    assert "consent.answered" in only and "staff.login</code>" not in only
    mine = page(client.get(f"/staff/audit?actor=staff:{admin.id}"))
    assert "staff.login" in mine and "consent.answered</code>" not in mine
    subject = page(client.get(f"/staff/audit?subject_id={person.subject_id}"))
    assert "consent.answered" in subject and "staff.login</code>" not in subject
    day = (utcnow() - timedelta(days=40)).date().isoformat()
    that_day = page(client.get(f"/staff/audit?since={day}&until={day}"))
    assert "retention.ran" in that_day and "consent.answered</code>" not in that_day


def test_a_wrong_filter_is_a_message_not_a_500(app, client):
    login(client, "admin")
    response = client.get("/staff/audit?since=yesterday&page=x")
    assert response.status_code == 400
    assert "Not a valid date value" in page(response)
