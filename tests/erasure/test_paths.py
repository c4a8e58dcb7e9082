"""I6 for every path to an erasure: afterwards none of the person's personal values is left in
any column of any table, in the log output, in the queued messages or in the ledger.

Each person first leaves traces the way a real one would: invited by email, answered the
consent form, got a campaign email. The scan finds them before the erasure (so it can fail)
and finds nothing after it. tests/journeys/test_erasure_journey.py does the same with Redis
and separate worker processes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from alumni import erasure
from alumni.campaigns import sending
from alumni.consent import notices
from alumni.consent.decisions import record_choices
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, EvidenceChannel, SuppressionReason, utcnow
from alumni.models.purpose import Purpose
from alumni.people import invitations, retention
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.factories import make_campaign, send_now
from tests.support.privacy import (
    distinctive_alumnus,
    personal_values,
    scan_database,
    scan_file,
    scan_in_process_queue,
    scan_log,
)
from worker import scheduler

GRANTED = {Purpose.EVENTS, Purpose.COURSES}
# The loggers of the app and its workers, at every level.
APP_LOGGERS = ("alumni", "worker", "dramatiq")


def optin_no_to_everything(client: FlaskClient, person: Alumnus) -> None:
    status, _ = submit_choices(client, "/optin/" + make_token(LinkKind.OPTIN, person), set())
    assert status == 200


def unsubscribe_page_delete_my_data(client: FlaskClient, person: Alumnus) -> None:
    url = "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
    token = csrf_token(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "choice": "erase"}).status_code == 200


def one_click_for_each_purpose(client: FlaskClient, person: Alumnus) -> None:
    """No consent left after opt-outs: nobody but the person acts."""
    for purpose in sorted(GRANTED):
        url = "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, purpose.value, 1)
        response = client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200


def preferences_no_to_everything(client: FlaskClient, person: Alumnus) -> None:
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    status, _ = submit_choices(client, url, set())
    assert status == 200


def preferences_withdraw_entirely(client: FlaskClient, person: Alumnus) -> None:
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    token = csrf_token(client.get(url).get_data(as_text=True))
    data = {"csrf_token": token, "action": "withdraw", "confirm": "y"}
    assert client.post(url, data=data).status_code == 200


def staff_request(client: FlaskClient, person: Alumnus) -> None:
    """What the admins' "erase on request" page calls."""
    erasure.request_erasure(
        person, reason=SuppressionReason.ERASED, channel=EvidenceChannel.STAFF, actor="staff:1"
    )
    db.session.commit()


def retention_no_answer_in_time(client: FlaskClient, person: Alumnus) -> None:
    person.invitation_sent_at = utcnow() - timedelta(days=61)
    db.session.commit()
    assert retention.run().invitees_erased == 1


def retention_no_consent_left(client: FlaskClient, person: Alumnus) -> None:
    record_choices(person, dict.fromkeys(GRANTED, False), EvidenceChannel.STAFF)
    db.session.commit()
    scheduler.tick()


def renewal_lapsed(client: FlaskClient, person: Alumnus) -> None:
    """Asked again after a material notice, no answer within the grace period."""
    notices.publish("2027-01", text_nl="# Nieuw\n", text_en="# New\n", material=True, actor="t")
    db.session.commit()
    asked_at = utcnow() + timedelta(seconds=1)
    sending.tick(asked_at)  # the scheduler's tick makes the renewal and starts it
    finish_jobs(client.application)
    sending.tick(asked_at)
    grace = timedelta(days=client.application.config["RENEWAL_GRACE_DAYS"])
    assert retention.run(asked_at + grace + timedelta(minutes=1)).renewals_lapsed == 1


ErasurePath = Callable[[FlaskClient, Alumnus], None]
# path -> whether the person answered the consent form (and got a campaign email) first
PATHS: dict[ErasurePath, bool] = {
    optin_no_to_everything: False,
    unsubscribe_page_delete_my_data: True,
    one_click_for_each_purpose: True,
    preferences_no_to_everything: True,
    preferences_withdraw_entirely: True,
    staff_request: True,
    retention_no_answer_in_time: False,
    retention_no_consent_left: True,
    renewal_lapsed: True,
}


def leave_traces(app, client: FlaskClient, answered: bool) -> Alumnus:
    person = distinctive_alumnus(status=AlumnusStatus.INVITED, invited_at=utcnow())
    assert invitations.deliver_invitation(person.id) == "sent"
    if answered:
        url = "/optin/" + make_token(LinkKind.OPTIN, person)
        status, _ = submit_choices(client, url, GRANTED, phone="06 " + person.phone[4:])
        assert status == 200
        send_now(app, make_campaign(Purpose.EVENTS))
    db.session.expire_all()
    return db.session.get(Alumnus, person.id)


@pytest.mark.parametrize("path", list(PATHS), ids=[path.__name__ for path in PATHS])
def test_nothing_personal_is_left_after_the_erasure(app, client, outbox, caplog, path):
    for name in APP_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    person = leave_traces(app, client, PATHS[path])
    values = personal_values(person)
    assert len(values) == 8
    assert {table for table, _, _ in scan_database(values)} == {"alumni"}  # the scan works
    assert outbox  # and the person was mailed

    path(client, person)
    finish_jobs(app)

    db.session.expire_all()
    person = db.session.get(Alumnus, person.id)
    assert person.status is AlumnusStatus.ERASED
    assert (person.gender, person.date_of_birth, person.graduation_year) == (None, None, None)
    assert scan_database(values) == []
    assert scan_log(caplog.records, values) == []
    assert scan_in_process_queue(app, values) == []
    assert scan_file(app.config["ERASURE_LEDGER_PATH"], values) == []
    assert person.subject_id in Path(app.config["ERASURE_LEDGER_PATH"]).read_text()


def test_the_scan_sees_what_a_careless_erasure_leaves(app, client, monkeypatch):
    """The proof that the test above can fail: an erasure that forgets fields."""
    from alumni.erasure import operation

    monkeypatch.setattr(operation, "PERSONAL_FIELDS", ("first_name", "last_name", "email"))
    person = leave_traces(app, client, answered=True)
    values = personal_values(person)
    staff_request(client, person)
    finish_jobs(app)
    found = {(table, column) for table, column, _ in scan_database(values)}
    assert found == {
        ("alumni", "phone"),
        ("alumni", "preferred_name"),
        ("alumni", "programme"),
        ("alumni", "date_of_birth"),
    }
