"""The erasure operation: a request stops mail at once, its job erases, the sweep finishes what
a lost job left, and erasing twice changes nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni import erasure
from alumni.campaigns.service import counts
from alumni.config import parse_keep_fields
from alumni.core.pseudonyms import email_suppression_key, student_suppression_key
from alumni.erasure import ledger, writes
from alumni.erasure.position import applied_through
from alumni.extensions import db
from alumni.models import (
    PERSONAL_FIELDS,
    Alumnus,
    AlumnusStatus,
    AuditEntry,
    Consent,
    ConsentEvidence,
    ConsentState,
    Delivery,
    DeliveryStatus,
    ErasureRequest,
    EvidenceChannel,
    Suppression,
    SuppressionReason,
    utcnow,
)
from alumni.models.purpose import Purpose
from alumni.people import invitations
from alumni.people.importer import import_graduates
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.factories import CSV_HEADER, answer, make_alumnus, make_campaign, send_now

STAFF = {"reason": SuppressionReason.ERASED, "channel": EvidenceChannel.STAFF, "actor": "staff:1"}


@pytest.fixture
def held_jobs(app, monkeypatch):
    """Jobs are recorded instead of queued: the window between a request and its job."""
    queued: list[tuple[str, tuple]] = []
    runtime = app.extensions["dramatiq"]
    monkeypatch.setattr(runtime, "enqueue", lambda name, *args: queued.append((name, args)))
    return queued


@pytest.fixture
def person(app):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    return alumnus


def suppressed() -> set[str]:
    return set(db.session.scalars(sa.select(Suppression.key_hash)))


def ledger_entries(app) -> list[ledger.Entry]:
    return ledger.read(app.config["ERASURE_LEDGER_PATH"], 0, 1000)[0]


def pending(alumnus) -> list[ErasureRequest]:
    return db.session.scalars(
        sa.select(ErasureRequest).where(
            ErasureRequest.alumnus_id == alumnus.id, ErasureRequest.done_at.is_(None)
        )
    ).all()


# -- the request: mail stops at once ----------------------------------------------------------


def test_a_request_stops_mail_at_once_and_queues_the_erasure(app, person, held_jobs):
    email, key = person.email, person.student_key
    old_link = make_token(LinkKind.PREFERENCES, person)
    erasure.request_erasure(person, **STAFF)
    db.session.commit()

    db.session.expire_all()
    assert all(not consent.granted for consent in person.consents)
    withdrawn = db.session.scalars(
        sa.select(ConsentEvidence.purpose).where(
            ConsentEvidence.subject_id == person.subject_id,
            ConsentEvidence.decision == ConsentState.WITHDRAWN,
            ConsentEvidence.channel == EvidenceChannel.STAFF,
        )
    ).all()
    assert sorted(withdrawn) == sorted([Purpose.EVENTS, Purpose.COURSES])
    assert {email_suppression_key(email), student_suppression_key(key)} <= suppressed()
    assert app.test_client().get("/preferences/" + old_link).status_code == 410
    (request,) = pending(person)
    assert (request.reason, request.channel, request.actor) == (
        SuppressionReason.ERASED,
        EvidenceChannel.STAFF,
        "staff:1",
    )
    assert held_jobs == [("erase_alumnus", (request.id,))]
    # The data itself goes with the job, not yet.
    assert person.email == email and person.status is AlumnusStatus.RESPONDED
    assert ledger_entries(app) == []


def test_asking_twice_makes_one_request(app, person, held_jobs):
    erasure.request_erasure(person, **STAFF)
    erasure.request_erasure(person, **STAFF)
    db.session.commit()
    assert len(pending(person)) == 1 and len(held_jobs) == 1


def test_nobody_is_mailed_while_the_request_waits_for_its_job(app, person, held_jobs, outbox):
    invited = make_alumnus(status=AlumnusStatus.INVITED)
    for alumnus in (person, invited):
        erasure.request_erasure(alumnus, **STAFF)
    db.session.commit()
    held_jobs.clear()

    campaign = make_campaign(Purpose.EVENTS)
    send_now(app, campaign)
    assert invitations.deliver_invitation(invited.id) == "suppressed"
    assert invitations.deliver_fresh_link(person.id) == "suppressed"
    assert outbox == []
    assert counts(campaign).as_dict() == {"sent": 0, "failed": 0, "skipped": {}}
    row = f"S9,Anna,Elders,,{person.email},,f,2000-01-01,Zorg,2022"
    report = import_graduates(f"{CSV_HEADER}\n{row}\n".encode())
    assert [r.code for r in report.rejected] == ["suppressed"]


# -- the erasure ------------------------------------------------------------------------------


def test_the_job_erases_everything_but_the_pseudonymous_trail(app, person, outbox):
    campaign = make_campaign(Purpose.EVENTS)
    send_now(app, campaign)
    assert len(outbox) == 1
    before = counts(campaign).as_dict()
    email, key, subject = person.email, person.student_key, person.subject_id

    erasure.request_erasure(person, **STAFF)
    db.session.commit()
    finish_jobs(app)

    db.session.expire_all()
    assert person.status is AlumnusStatus.ERASED and person.erased_at is not None
    assert all(getattr(person, field) is None for field in PERSONAL_FIELDS)
    assert person.student_key is None and person.invited_at is None
    assert not db.session.scalars(sa.select(Consent).where(Consent.alumnus_id == person.id)).all()
    assert not db.session.scalars(sa.select(Delivery).where(Delivery.alumnus_id == person.id)).all()
    assert counts(campaign).as_dict() == before  # the totals stay
    assert pending(person) == []
    (entry,) = ledger_entries(app)
    assert entry.subject == subject
    assert set(entry.keys) == {email_suppression_key(email), student_suppression_key(key)}
    assert (entry.reason, entry.channel) == ("erased", "staff")
    assert applied_through() == ledger.size(app.config["ERASURE_LEDGER_PATH"])
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.subject_id == subject).order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == ["alumnus.erasure_requested", "alumnus.erased"]


def test_erasing_twice_changes_nothing_the_second_time(app, person, held_jobs):
    erasure.request_erasure(person, **STAFF)
    db.session.commit()
    (request,) = pending(person)
    assert erasure.carry_out(request.id) == ("erased", 1)
    assert erasure.carry_out(request.id) == ("done-before", 0)
    erasure.erase_alumnus(db.session.get(Alumnus, person.id), **STAFF)
    db.session.commit()
    assert len(ledger_entries(app)) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                AuditEntry.action == "alumnus.erased", AuditEntry.subject_id == person.subject_id
            )
        )
        == 1
    )


# -- groups: where many requests wait, one transaction erases many -----------------------------


def requested(count: int, held_jobs) -> tuple[list[Alumnus], list[int]]:
    people = [make_alumnus() for _ in range(count)]
    for alumnus in people:
        answer(alumnus, {Purpose.EVENTS})
        erasure.request_erasure(alumnus, **STAFF)
    db.session.commit()
    return people, [args[0] for name, args in held_jobs if name == "erase_alumnus"]


def test_a_job_erases_the_requests_waiting_beside_its_own_in_one_transaction(app, held_jobs):
    people, request_ids = requested(5, held_jobs)
    appends = []
    real_append = ledger.append
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger, "append", lambda *a, **k: appends.append(1) or real_append(*a, **k))
        assert erasure.carry_out(request_ids[2]) == ("erased", 5)
    assert len(appends) == 1  # one append (one fsync) for the group
    assert [erasure.carry_out(n) for n in request_ids] == [("done-before", 0)] * 5
    db.session.expire_all()
    assert all(alumnus.status is AlumnusStatus.ERASED for alumnus in people)
    assert all(alumnus.email is None and pending(alumnus) == [] for alumnus in people)
    assert sorted(entry.subject for entry in ledger_entries(app)) == sorted(
        alumnus.subject_id for alumnus in people
    )
    assert applied_through() == ledger.size(app.config["ERASURE_LEDGER_PATH"])
    erased_logged = sa.select(sa.func.count()).where(AuditEntry.action == "alumnus.erased")
    assert db.session.scalar(erased_logged) == 5


def test_a_group_takes_at_most_its_size(app, held_jobs):
    people, request_ids = requested(4, held_jobs)
    assert erasure.carry_out(request_ids[0], group=3) == ("erased", 3)
    db.session.expire_all()
    assert [alumnus.status is AlumnusStatus.ERASED for alumnus in people] == [1, 1, 1, 0]
    assert erasure.carry_out(request_ids[3], group=1) == ("erased", 1)


def test_two_requests_of_one_person_in_a_group_are_one_erasure(app, held_jobs):
    people, request_ids = requested(2, held_jobs)
    # A second request for the second person, as a restore or a hand-made row may leave.
    db.session.add(
        ErasureRequest(
            alumnus_id=people[1].id,
            subject_id=people[1].subject_id,
            reason=SuppressionReason.ERASED,
            channel=EvidenceChannel.STAFF,
            actor="staff:1",
            requested_at=utcnow(),
        )
    )
    db.session.commit()
    assert erasure.carry_out(request_ids[0]) == ("erased", 2)
    assert len(ledger_entries(app)) == 2
    assert pending(people[1]) == []


def test_an_erasure_that_fails_in_a_group_does_not_hold_up_the_job_s_own(
    app, held_jobs, monkeypatch, caplog
):
    people, request_ids = requested(3, held_jobs)
    real_erase = writes.clear_everywhere

    def broken_for_the_last(person, **kwargs):
        if person.id == people[2].id:
            raise RuntimeError("a row the erasure cannot write")
        return real_erase(person, **kwargs)

    monkeypatch.setattr(writes, "clear_everywhere", broken_for_the_last)
    assert erasure.carry_out(request_ids[0]) == ("erased", 1)  # alone, after the group failed
    assert "its group of 3 failed (RuntimeError), now alone" in caplog.text
    assert erasure.carry_out(request_ids[1]) == ("erased", 1)  # the group of 2 failed too
    with pytest.raises(RuntimeError):  # its own job fails, and dramatiq tries it again later
        erasure.carry_out(request_ids[2])
    db.session.expire_all()
    assert [alumnus.status is AlumnusStatus.ERASED for alumnus in people] == [1, 1, 0]
    assert len(ledger_entries(app)) == 2
    assert applied_through() == ledger.size(app.config["ERASURE_LEDGER_PATH"])


def test_a_group_skips_a_person_someone_else_holds_and_does_not_wait(app, held_jobs, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: SQLite has one writer, whose lock the first claim takes")
    people, request_ids = requested(3, held_jobs)
    carried: list[erasure.Carried] = []

    def job() -> None:
        with app.app_context():
            carried.append(erasure.carry_out(request_ids[0]))

    with db.engine.connect() as sender:  # a sender handing over an email to the second person
        sender.execute(sa.select(Alumnus.id).where(Alumnus.id == people[1].id).with_for_update())
        worker = threading.Thread(target=job)
        worker.start()
        worker.join(timeout=20)
        waited = worker.is_alive()
        sender.rollback()
    worker.join()
    assert not waited
    assert carried == [("erased", 2)]
    db.session.expire_all()
    assert [alumnus.status is AlumnusStatus.ERASED for alumnus in people] == [1, 0, 1]
    assert erasure.carry_out(request_ids[1]) == ("erased", 1)


def test_an_email_in_hand_is_cancelled_by_the_erasure(app, person, held_jobs):
    campaign = make_campaign(Purpose.EVENTS)
    db.session.add(Delivery(campaign_id=campaign.id, alumnus_id=person.id, status="claimed"))
    db.session.commit()
    erasure.erase_alumnus(person, **STAFF)
    db.session.commit()
    (delivery,) = db.session.scalars(sa.select(Delivery)).all()
    assert (delivery.status, delivery.reason, delivery.alumnus_id) == (
        DeliveryStatus.SKIPPED,
        "erased",
        None,
    )


@pytest.mark.parametrize("config_overrides", [{"ERASURE_KEEP_FIELDS": {"graduation_year": "x"}}])
def test_a_field_a_legal_duty_keeps_is_kept(app, person):
    erasure.erase_alumnus(person, **STAFF)
    db.session.commit()
    db.session.expire_all()
    assert person.graduation_year == 2022
    assert all(getattr(person, f) is None for f in PERSONAL_FIELDS if f != "graduation_year")


@pytest.mark.parametrize(
    ("value", "problem"),
    [("email", "needs the legal duty"), ("password=x", "not a personal field")],
)
def test_keep_fields_need_a_personal_field_and_a_reason(value, problem):
    with pytest.raises(ValueError, match=problem):
        parse_keep_fields(value)


# -- the sweep --------------------------------------------------------------------------------


def test_a_request_whose_job_was_lost_is_done_by_the_sweep(app, person, monkeypatch):
    def broker_down(*args):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(app.extensions["dramatiq"], "enqueue", broker_down)
    erasure.request_erasure(person, **STAFF)
    db.session.commit()  # does not raise: the request is in the database
    requested_at = pending(person)[0].requested_at

    assert erasure.sweep(requested_at + timedelta(seconds=5)) == 0  # the job still may come
    assert erasure.sweep(requested_at + timedelta(seconds=31)) == 1
    db.session.expire_all()
    assert person.status is AlumnusStatus.ERASED and pending(person) == []


def test_a_ledger_that_cannot_be_written_leaves_the_request_for_later(app, person, held_jobs):
    erasure.request_erasure(person, **STAFF)
    db.session.commit()
    (request,) = pending(person)
    good = app.config["ERASURE_LEDGER_PATH"]
    app.config["ERASURE_LEDGER_PATH"] = str(app.instance_path)  # a folder: cannot be written
    with pytest.raises(erasure.LedgerError):
        erasure.carry_out(request.id)
    db.session.rollback()
    db.session.expire_all()
    assert person.status is AlumnusStatus.RESPONDED and person.email is not None
    assert len(pending(person)) == 1
    app.config["ERASURE_LEDGER_PATH"] = good
    assert erasure.sweep(utcnow() + timedelta(minutes=1)) == 1
    assert len(ledger_entries(app)) == 1


def test_metrics_show_erasures_waiting(app, client, person, held_jobs):
    erasure.request_erasure(person, **STAFF)
    db.session.commit()
    page = client.get("/metrics").get_data(as_text=True)
    assert "alumni_erasures_pending 1.0" in page
    assert "alumni_erasure_ledger_behind_bytes 0.0" in page
    erasure.carry_out(held_jobs[0][1][0])
    page = client.get("/metrics").get_data(as_text=True)
    assert "alumni_erasures_pending 0.0" in page
    assert 'alumni_erasures_total{reason="erased"} 1.0' in page
