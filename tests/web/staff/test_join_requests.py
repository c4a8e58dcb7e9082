"""The officers' queue of requests to join that matched nobody: look-up, link, reject, each
audited without what was typed; other roles are kept out."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from alumni.core.pseudonyms import student_key
from alumni.extensions import db
from alumni.models import AuditEntry, JoinRequest, JoinRequestStatus
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token
from tests.support.factories import make_alumnus, make_staff
from tests.support.staff import StaffAuth, form_token, open_browser

TYPED = ("S12345X", "2001-03-30", "verdwaald@alumni.example")


@pytest.fixture
def client(app):
    return open_browser(app)


def login(client, role: str):
    staff = make_staff(role, email=f"{role}@school.example")
    StaffAuth(client).login(staff.email)
    return staff


def unmatched(app) -> JoinRequest:
    """A request typed at /join that matched nobody (a typo in the student number)."""
    visitor = app.test_client()
    token = csrf_token(visitor.get("/join").get_data(as_text=True))
    number, born, email = TYPED
    visitor.post(
        "/join",
        data={"csrf_token": token, "student_number": number, "date_of_birth": born, "email": email},
    )
    finish_jobs(app)
    db.session.expire_all()
    return db.session.scalars(sa.select(JoinRequest)).one()


def audited(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def assert_nothing_typed_in_the_audit_log() -> None:
    details = repr([entry.details for entry in audited_all()])
    for value in (*TYPED, "2001-03-30"):
        assert value.lower() not in details.lower()


def audited_all() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEntry)))


@pytest.mark.parametrize(
    ("role", "status"), [("researcher", 403), ("officer", 200), ("admin", 200)]
)
def test_only_officers_and_admins_see_the_queue(app, client, role, status):
    login(client, role)
    assert client.get("/staff/join-requests").status_code == status


def test_anonymous_visitors_go_to_the_login(app, client):
    response = client.get("/staff/join-requests")
    assert response.status_code in (302, 303) and "/staff/login" in response.location


def test_an_unmatched_request_is_linked_after_a_look_up(app, client, outbox):
    person = make_alumnus(student_key=student_key("S12345"), date_of_birth=date(2001, 3, 31))
    entry = unmatched(app)
    entry_id = entry.id
    assert entry.status is JoinRequestStatus.UNMATCHED and outbox == []
    login(client, "officer")
    queue = client.get("/staff/join-requests").get_data(as_text=True)
    for value in TYPED:
        assert value in queue
    page_url = f"/staff/join-requests/{entry_id}"
    assert client.get(page_url).status_code == 200

    missed = client.post(
        page_url, data={"csrf_token": form_token(client, page_url), "student_number": "S0"}
    )
    assert missed.status_code == 400
    assert 'id="student_number-error"' in missed.get_data(as_text=True)
    found = client.post(
        page_url, data={"csrf_token": form_token(client, page_url), "student_number": "s12345"}
    )
    page = found.get_data(as_text=True)
    assert person.last_name in page
    action = re.search(r'action="(/staff/join-requests/\d+/link/[^"]+)"', page).group(1)
    linked = client.post(action, data={"csrf_token": csrf_token(page)})
    assert linked.status_code == 303
    finish_jobs(app)

    assert [message["To"] for message in outbox] == ["verdwaald@alumni.example"]
    body = outbox[0].get_body(preferencelist=("plain",)).get_content()
    confirm = re.search(r"http://alumni\.test(/confirm-join/\S+)", body).group(1)
    visitor = open_browser(app)
    shown = visitor.get(confirm)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    token = csrf_token(shown.get_data(as_text=True))
    assert visitor.post(confirm, data={"csrf_token": token}).location.startswith("/optin/")
    db.session.expire_all()
    assert person.email == "verdwaald@alumni.example"

    # Each GET of the page (the test reads its form token from it too) is a view.
    assert {e.details["request_id"] for e in audited("join_request.viewed")} == {entry_id}
    assert [e.details["found"] for e in audited("join_request.looked_up")] == [False, True]
    (link_entry,) = [e for e in audited("join.linked") if e.actor != "system"]
    assert link_entry.subject_id == person.subject_id and link_entry.actor.startswith("staff")
    assert_nothing_typed_in_the_audit_log()


def test_a_rejected_request_is_deleted_and_audited(app, client, outbox):
    entry_id = unmatched(app).id
    login(client, "officer")
    page_url = f"/staff/join-requests/{entry_id}"
    rejected = client.post(f"{page_url}/reject", data={"csrf_token": form_token(client, page_url)})
    assert rejected.status_code == 303
    assert db.session.scalars(sa.select(JoinRequest)).all() == []
    assert [e.details["request_id"] for e in audited("join.rejected")] == [entry_id]
    assert client.get(page_url).status_code == 404
    finish_jobs(app)
    assert outbox == []
    assert_nothing_typed_in_the_audit_log()


def test_link_and_reject_need_the_form_token(app, client):
    entry = unmatched(app)
    login(client, "officer")
    assert client.post(f"/staff/join-requests/{entry.id}/reject").status_code == 400
    assert db.session.get(JoinRequest, entry.id) is not None
