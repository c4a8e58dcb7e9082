"""Requests to join, in the domain: suppressed people are never matched, nothing typed is kept
longer than 30 days (retention), and an erasure takes every request about the person."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from alumni.consent.suppression import suppress
from alumni.core.pseudonyms import student_key
from alumni.erasure import erase_alumnus
from alumni.extensions import db
from alumni.models import (
    EvidenceChannel,
    JoinRequest,
    JoinRequestStatus,
    SuppressionReason,
    utcnow,
)
from alumni.people import joining, retention
from alumni.people.joining import JoinOutcome
from tests.support.factories import make_alumnus

BORN = date(2001, 3, 31)


def typed(number: str, email: str, *, at=None, status=JoinRequestStatus.NEW) -> JoinRequest:
    request = JoinRequest(
        status=status,
        student_number=number,
        date_of_birth=BORN,
        student_key=student_key(number),
        email=email,
        requested_at=at or utcnow(),
    )
    db.session.add(request)
    db.session.commit()
    return request


def remaining() -> list[str]:
    db.session.expire_all()
    return [r.email for r in db.session.scalars(sa.select(JoinRequest).order_by(JoinRequest.id))]


def test_a_suppressed_person_is_never_matched(app, outbox):
    person = make_alumnus(student_key=student_key("S1"), date_of_birth=BORN)
    suppress(person, SuppressionReason.HARD_BOUNCE)  # their address bounced for good
    db.session.commit()
    request = typed("S1", "nieuw@alumni.example")
    assert joining.match_request(request.id) is JoinOutcome.SUPPRESSED
    db.session.commit()
    assert remaining() == [] and outbox == []


def test_a_match_needs_the_date_of_birth_too(app):
    make_alumnus(student_key=student_key("S2"), date_of_birth=date(1999, 1, 1))
    request = typed("S2", "poging@alumni.example")
    assert joining.match_request(request.id) is JoinOutcome.QUEUED
    assert joining.match_request(request.id) is JoinOutcome.GONE  # a repeated job: nothing


def test_retention_deletes_requests_older_than_30_days(app):
    now = utcnow()
    typed(
        "S3", "oud@alumni.example", at=now - timedelta(days=31), status=JoinRequestStatus.UNMATCHED
    )
    typed(
        "S4", "jong@alumni.example", at=now - timedelta(days=29), status=JoinRequestStatus.UNMATCHED
    )
    person = make_alumnus()
    linked = typed("S5", "gelinkt@alumni.example", at=now - timedelta(days=3))
    assert joining.link_to(linked, person, actor="system") is JoinOutcome.LINKED
    linked.linked_at = now - timedelta(days=2)  # its confirmation link died a day ago
    db.session.commit()
    report = retention.run(now)
    assert report.join_requests_deleted == 2
    assert remaining() == ["jong@alumni.example"]


def test_an_erasure_takes_every_request_about_the_person(app):
    person = make_alumnus(student_key=student_key("S6"), email="persoon@alumni.example")
    typed("S6", "ander.adres@alumni.example", status=JoinRequestStatus.UNMATCHED)  # their number
    typed("S7", "persoon@alumni.example", status=JoinRequestStatus.UNMATCHED)  # their address
    linked = typed("S8", "via.officer@alumni.example")
    joining.link_to(linked, person, actor="staff:1")
    typed("S9", "iemand.anders@alumni.example", status=JoinRequestStatus.UNMATCHED)
    db.session.commit()
    erase_alumnus(
        person, reason=SuppressionReason.ERASED, channel=EvidenceChannel.STAFF, actor="staff:1"
    )
    db.session.commit()
    assert remaining() == ["iemand.anders@alumni.example"]
