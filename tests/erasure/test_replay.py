"""Replaying the erasure ledger: a database behind its ledger (a restored backup) is caught up
before any mail leaves, and replaying again changes nothing.

A restore is simulated here by appending to the ledger what a later state of the database
erased; tests/journeys/test_restore.py restores real dumps."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import Session
from sqlalchemy import event

from alumni import erasure
from alumni.campaigns import sending
from alumni.campaigns.service import schedule
from alumni.consent.suppression import keys_for
from alumni.erasure import ledger, position
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignBatch,
    ConsentEvidence,
    ErasureRequest,
    ErasureState,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)
from alumni.models.purpose import Purpose
from alumni.people.importer import import_graduates
from tests.support.factories import CSV_HEADER, answer, make_alumnus, make_campaign, send_now
from tests.support.workers import wait_for
from worker import scheduler

STAFF = {"reason": SuppressionReason.ERASED, "channel": EvidenceChannel.STAFF, "actor": "staff:1"}
REPORT = re.compile(r"(\d+)\D+(\d+)\D+(\d+)")


def erased_later(app, *people) -> None:
    """Write to the ledger what a later state of the database erased."""
    at = utcnow() - timedelta(hours=1)
    entries = [
        ledger.Entry(p.subject_id, tuple(keys_for(p)), "withdrawn", "one_click", at) for p in people
    ]
    ledger.append(app.config["ERASURE_LEDGER_PATH"], entries)


def run_replay(runner) -> tuple[int, int, int]:
    """``erasure replay``: (entries read, suppression hashes restored, erased again)."""
    result = runner.invoke(args=["erasure", "replay"])
    assert result.exit_code == 0, result.output
    return tuple(map(int, REPORT.search(result.output).groups()))


@pytest.fixture
def people(app):
    anna, bram = make_alumnus(), make_alumnus()
    for person in (anna, bram):
        answer(person, {Purpose.EVENTS})
    return anna, bram


def test_a_replay_of_a_database_that_has_everything_changes_nothing(app, runner, people):
    for person in people:
        erasure.erase_alumnus(person, **STAFF)
        db.session.commit()
    assert run_replay(runner) == (2, 0, 0)
    assert run_replay(runner) == (2, 0, 0)


def test_a_database_behind_its_ledger_is_caught_up_before_a_campaign_sends(app, people, outbox):
    anna, bram = people
    anna_address, anna_subject = anna.email, anna.subject_id
    erased_later(app, anna)
    assert position.bytes_behind() > 0

    send_now(app, make_campaign(Purpose.EVENTS))

    assert [m["To"] for m in outbox] == [bram.email]
    db.session.expire_all()
    assert anna.status is AlumnusStatus.ERASED and anna.email is None
    assert position.bytes_behind() == 0
    evidence = db.session.scalars(
        sa.select(ConsentEvidence).where(ConsentEvidence.subject_id == anna_subject)
    ).all()
    assert evidence[-1].channel is EvidenceChannel.ONE_CLICK  # as it was withdrawn
    row = f"S77,Anna,Elders,,{anna_address},,f,2000-01-01,Zorg,2022"
    report = import_graduates(f"{CSV_HEADER}\n{row}\n".encode())
    assert [r.code for r in report.rejected] == ["suppressed"]


@pytest.fixture
def held_jobs(app, monkeypatch):
    queued: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        app.extensions["dramatiq"], "enqueue", lambda name, *args: queued.append((name, args))
    )
    return queued


def test_no_mail_leaves_while_another_process_replays(app, people, held_jobs, outbox):
    anna, bram = people
    erased_later(app, anna)
    assert position.take_lease(utcnow(), timedelta(minutes=5))  # another process replays
    campaign = make_campaign(Purpose.EVENTS)
    schedule(campaign)
    db.session.commit()
    sending.tick()
    sending.dispatch(campaign.id)
    batch = db.session.scalars(sa.select(CampaignBatch)).one()

    with pytest.raises(erasure.ReplayPending):
        sending.send_batch(batch.id)
    assert outbox == []
    assert db.session.get(Campaign, campaign.id, populate_existing=True).waiting_reason == (
        "erasure-replay"
    )

    position.release_lease()  # that process died: the next try replays itself
    assert sending.send_batch(batch.id) == "done"
    assert [m["To"] for m in outbox] == [bram.email]


def test_the_scheduler_replays_first(app, people, held_jobs):
    anna, _ = people
    erased_later(app, anna)
    scheduler.tick()
    db.session.expire_all()
    assert anna.status is AlumnusStatus.ERASED
    assert position.bytes_behind() == 0


def test_an_erasure_whose_commit_failed_after_the_append_is_completed(app, people, held_jobs):
    anna, _ = people
    erasure.request_erasure(anna, **STAFF)
    db.session.commit()
    request_id = held_jobs[0][1][0]

    def commit_fails(session):
        raise RuntimeError("the connection dropped")

    event.listen(Session, "before_commit", commit_fails)  # runs after the ledger's hook
    try:
        with pytest.raises(RuntimeError):
            erasure.carry_out(request_id)
    finally:
        event.remove(Session, "before_commit", commit_fails)
    db.session.rollback()
    db.session.expire_all()
    assert anna.status is AlumnusStatus.RESPONDED  # not in the database
    assert len(ledger.read(app.config["ERASURE_LEDGER_PATH"], 0, 10)[0]) == 1  # in the ledger
    assert position.bytes_behind() > 0

    erasure.require_ledger_applied()

    db.session.expire_all()
    assert anna.status is AlumnusStatus.ERASED
    assert db.session.get(ErasureRequest, request_id).done_at is not None
    assert position.bytes_behind() == 0


def test_erasures_after_a_restore_do_not_hide_the_gap(app, people, held_jobs):
    """The position moves only over a contiguous stretch: what the restored database lacks
    stays to be replayed, however many erasures are appended after it."""
    anna, bram = people
    erased_later(app, anna)
    erasure.erase_alumnus(bram, **STAFF)
    db.session.commit()
    assert position.bytes_behind() > 0
    db.session.expire_all()
    assert anna.status is AlumnusStatus.RESPONDED
    assert erasure.catch_up().erased_again == 1
    assert position.bytes_behind() == 0


def test_suppression_comes_back_for_people_this_database_never_had(app, runner):
    ghost = make_alumnus(email="later@alumni.example")
    erased_later(app, ghost)
    db.session.delete(ghost)  # imported after the backup was made
    db.session.commit()
    assert run_replay(runner) == (1, 2, 0)
    row = "S9,Lat,Er,,later@alumni.example,,f,2000-01-01,Zorg,2022"
    report = import_graduates(f"{CSV_HEADER}\n{row}\n".encode())
    assert [r.code for r in report.rejected] == ["suppressed"]
    assert run_replay(runner) == (1, 0, 0)


def test_a_ledger_shorter_than_the_database_knows_is_reported(app, people, caplog):
    position.ensure_state()
    db.session.execute(sa.update(ErasureState).values(ledger_applied_through=10_000))
    db.session.commit()
    with caplog.at_level(logging.ERROR):
        assert position.bytes_behind() == 0
    assert "erasure ledger: 0 bytes, but the database has applied 10000" in caplog.text


def test_an_append_waits_for_the_one_before_it_to_commit(app, people, database_url):
    """Two erasures at once: the second appends while the first has not committed yet. The
    position must still move over both (on PostgreSQL a conditional UPDATE alone would
    compare with the value before the first and leave the database "behind")."""
    anna, bram = people
    bram_id = bram.id
    erasure.erase_alumnus(anna, **STAFF)
    position._write_pending(db.session)  # the first commit, up to the append

    def second() -> None:
        with app.app_context():
            erasure.erase_alumnus(db.session.get(Alumnus, bram_id), **STAFF)
            db.session.commit()

    thread = threading.Thread(target=second)
    thread.start()
    if database_url.startswith("postgresql"):
        assert wait_for(waiting_on_a_lock, timeout=30)
    db.session.commit()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(ledger.read(app.config["ERASURE_LEDGER_PATH"], 0, 10)[0]) == 2
    assert position.bytes_behind() == 0


def waiting_on_a_lock() -> bool:
    with db.engine.connect() as connection:
        return bool(
            connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


def test_erasure_jobs_on_four_threads_leave_the_database_caught_up(app, held_jobs):
    """Jobs at once, as the worker's threads run them: each erasure in the ledger once, and
    the position moved over all of them (on SQLite the jobs queue on a thread lock, on
    PostgreSQL each waits on the position's row for the one appended before it)."""
    people = [make_alumnus() for _ in range(12)]
    for person in people:
        answer(person, {Purpose.EVENTS})
        erasure.request_erasure(person, **STAFF)
    db.session.commit()
    request_ids = [args[0] for _, args in held_jobs]
    outcomes: list[erasure.Carried] = []

    def work(chunk: list[int]) -> None:
        with app.app_context():
            for request_id in chunk:
                outcomes.append(erasure.carry_out(request_id))

    threads = [threading.Thread(target=work, args=(request_ids[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Every job's request done, most by the first jobs' groups; every person erased once.
    assert {carried.outcome for carried in outcomes} <= {"erased", "done-before"}
    assert sum(carried.erased for carried in outcomes) == len(people)
    assert len(ledger.read(app.config["ERASURE_LEDGER_PATH"], 0, 100)[0]) == len(people)
    assert position.bytes_behind() == 0
    db.session.expire_all()
    assert all(person.status is AlumnusStatus.ERASED for person in people)
