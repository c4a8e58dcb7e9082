"""Recording consent decisions: only changes are evidence, the first answer records every
purpose, and the evidence names the channel, the notice and the time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from alumni.consent.decisions import (
    consent_dates,
    current_choices,
    granted_purposes,
    record_choices,
    withdraw_granted,
)
from alumni.extensions import db
from alumni.models import AppendOnlyViolation, ConsentEvidence, ConsentState, EvidenceChannel
from alumni.models.purpose import Purpose
from tests.support.factories import make_alumnus

EVERY_NO = dict.fromkeys(Purpose, False)


def evidence(alumnus) -> list[tuple[Purpose, ConsentState, EvidenceChannel]]:
    rows = db.session.scalars(
        sa.select(ConsentEvidence)
        .where(ConsentEvidence.subject_id == alumnus.subject_id)
        .order_by(ConsentEvidence.id)
    )
    return [(row.purpose, row.decision, row.channel) for row in rows]


def test_a_first_answer_records_every_purpose_no_included(app):
    alumnus = make_alumnus()
    changed = record_choices(
        alumnus, {**EVERY_NO, Purpose.EVENTS: True}, EvidenceChannel.OPTIN_FORM
    )
    db.session.commit()
    assert changed == list(Purpose)
    assert [(p, d) for p, d, _ in evidence(alumnus)] == [
        (p, ConsentState.GRANTED if p is Purpose.EVENTS else ConsentState.WITHDRAWN)
        for p in Purpose
    ]
    assert current_choices(alumnus) == {**EVERY_NO, Purpose.EVENTS: True}
    assert granted_purposes(alumnus) == [Purpose.EVENTS]


def test_only_a_change_is_evidence(app):
    alumnus = make_alumnus()
    record_choices(alumnus, {**EVERY_NO, Purpose.EVENTS: True}, EvidenceChannel.OPTIN_FORM)
    before = len(evidence(alumnus))
    changed = record_choices(
        alumnus,
        {**EVERY_NO, Purpose.EVENTS: True, Purpose.COURSES: True},
        EvidenceChannel.PREFERENCES,
    )
    db.session.commit()
    assert changed == [Purpose.COURSES]
    assert evidence(alumnus)[before:] == [
        (Purpose.COURSES, ConsentState.GRANTED, EvidenceChannel.PREFERENCES)
    ]


def test_evidence_keeps_the_notice_version_and_the_time_given(app):
    alumnus = make_alumnus()
    then = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    record_choices(alumnus, {Purpose.SURVEYS: True}, EvidenceChannel.STAFF, at=then)
    db.session.commit()
    row = db.session.scalar(sa.select(ConsentEvidence))
    assert row.notice_version == "2026-11"  # the first notice, published by the migration
    assert row.recorded_at == then
    assert consent_dates(alumnus) == {Purpose.SURVEYS: then}


def test_withdrawing_what_was_granted_leaves_the_rest_alone(app):
    alumnus = make_alumnus()
    record_choices(
        alumnus,
        {**EVERY_NO, Purpose.EVENTS: True, Purpose.RESEARCH: True},
        EvidenceChannel.OPTIN_FORM,
    )
    before = len(evidence(alumnus))
    assert sorted(withdraw_granted(alumnus, EvidenceChannel.ERASURE)) == sorted(
        [Purpose.EVENTS, Purpose.RESEARCH]
    )
    db.session.commit()
    assert granted_purposes(alumnus) == []
    assert {channel for _, _, channel in evidence(alumnus)[before:]} == {EvidenceChannel.ERASURE}


@pytest.mark.parametrize("change", ["update", "delete"])
def test_evidence_is_append_only(app, change):
    alumnus = make_alumnus()
    record_choices(alumnus, {Purpose.EVENTS: True}, EvidenceChannel.OPTIN_FORM)
    db.session.commit()
    row = db.session.scalar(sa.select(ConsentEvidence))
    with pytest.raises(AppendOnlyViolation):
        if change == "update":
            row.decision = ConsentState.WITHDRAWN
        else:
            db.session.delete(row)
        db.session.flush()
    db.session.rollback()
