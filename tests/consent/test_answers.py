"""What an answer does: the consent form, the preferences, an opt-out, declining, and the
corrections a person makes (never their address: that waits for its owner)."""

from __future__ import annotations

import pytest

from alumni.consent import answers
from alumni.consent.answers import OptOut
from alumni.consent.decisions import granted_purposes
from alumni.extensions import db
from alumni.models import AlumnusStatus, AuditEntry, EvidenceChannel
from alumni.models.purpose import Purpose
from tests.conftest import finish_jobs
from tests.support.factories import answer, make_alumnus

EVERY_NO = dict.fromkeys(Purpose, False)


def test_answering_yes_to_something_moves_the_person_on(app):
    alumnus = make_alumnus(status=AlumnusStatus.INVITED)
    erased = answers.answer_invitation(alumnus, {**EVERY_NO, Purpose.EVENTS: True}, {})
    db.session.commit()
    assert erased is False
    assert alumnus.status is AlumnusStatus.RESPONDED and alumnus.responded_at is not None


def test_answering_no_to_everything_asks_for_the_erasure(app):
    alumnus = make_alumnus()
    assert answers.answer_invitation(alumnus, EVERY_NO, {}) is True
    db.session.commit()
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED


def test_corrections_change_the_fields_but_never_the_address(app):
    alumnus = make_alumnus(first_name="Jan", email="jan@alumni.example")
    changed = answers.correct_data(
        alumnus, {"first_name": "Johan", "email": "ander@alumni.example", "phone": alumnus.phone}
    )
    db.session.commit()
    assert changed == ["first_name"]
    assert alumnus.first_name == "Johan" and alumnus.email == "jan@alumni.example"
    assert "email" not in answers.CORRECTABLE_FIELDS


def test_an_opt_out_says_what_it_did(app):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    channel = EvidenceChannel.ONE_CLICK
    assert answers.opt_out(alumnus, Purpose.EVENTS, channel) is OptOut.WITHDRAWN
    assert answers.opt_out(alumnus, Purpose.EVENTS, channel) is OptOut.NOTHING_LEFT
    assert answers.opt_out(alumnus, Purpose.COURSES, channel) is OptOut.ERASED
    db.session.commit()
    assert granted_purposes(alumnus) == []


@pytest.mark.parametrize("paused", [True, False])
def test_the_preferences_pause_and_resume_mail(app, paused):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS})
    choices = {**EVERY_NO, Purpose.EVENTS: True}
    answers.change_preferences(alumnus, choices, {}, paused=True)
    if not paused:
        answers.change_preferences(alumnus, choices, {}, paused=False)
    db.session.commit()
    assert (alumnus.paused_at is not None) is paused
    actions = [entry.action for entry in db.session.query(AuditEntry).order_by(AuditEntry.id)]
    assert ("alumnus.unpaused" in actions) is not paused


def test_declining_once_is_enough(app):
    alumnus = make_alumnus()
    assert answers.decline(alumnus, EvidenceChannel.ONE_CLICK) is True
    db.session.commit()
    assert answers.decline(alumnus, EvidenceChannel.ONE_CLICK) is False  # under way
    finish_jobs(app)
    assert answers.decline(alumnus, EvidenceChannel.ONE_CLICK) is False  # done
