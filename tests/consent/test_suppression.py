"""The suppression list: keyed hashes of addresses and student numbers, never the values."""

from __future__ import annotations

import sqlalchemy as sa

from alumni.consent.suppression import (
    is_address_suppressed,
    is_suppressed,
    keys_for,
    suppress,
    suppress_address,
    suppressed_among,
    suppression_keys,
)
from alumni.core.pseudonyms import email_suppression_key, student_suppression_key
from alumni.extensions import db
from alumni.models import Suppression, SuppressionReason
from tests.support.factories import make_alumnus


def test_a_person_is_listed_by_address_and_by_student_number(app):
    alumnus = make_alumnus(email="Iemand@Alumni.Example")
    assert keys_for(alumnus) == [
        email_suppression_key("iemand@alumni.example"),
        student_suppression_key(alumnus.student_key),
    ]
    assert suppression_keys(None, None) == []


def test_the_list_holds_no_address_and_keeps_the_first_reason(app):
    alumnus = make_alumnus(email="weg@alumni.example")
    suppress_address("weg@alumni.example", SuppressionReason.HARD_BOUNCE)
    suppress(alumnus, SuppressionReason.WITHDRAWN)
    suppress(alumnus, SuppressionReason.ERASED)  # twice: nothing new
    db.session.commit()
    rows = {row.key_hash: row.reason for row in db.session.scalars(sa.select(Suppression))}
    assert rows == {
        email_suppression_key("weg@alumni.example"): SuppressionReason.HARD_BOUNCE,
        student_suppression_key(alumnus.student_key): SuppressionReason.WITHDRAWN,
    }
    assert not any("weg" in key for key in rows)


def test_a_new_address_of_a_suppressed_student_is_still_suppressed(app):
    alumnus = make_alumnus(email="oud@alumni.example")
    suppress(alumnus, SuppressionReason.WITHDRAWN)
    db.session.commit()
    alumnus.email = "nieuw@alumni.example"
    assert is_suppressed(alumnus)  # by student number
    assert is_address_suppressed("OUD@alumni.example")  # by address, in any case
    assert not is_address_suppressed("nieuw@alumni.example")


def test_many_keys_are_looked_up_at_once(app):
    listed = [email_suppression_key(f"p{n}@alumni.example") for n in range(0, 3000, 2)]
    for key in listed:
        db.session.add(Suppression(key_hash=key, reason=SuppressionReason.ERASED))
    db.session.commit()
    asked = [email_suppression_key(f"p{n}@alumni.example") for n in range(3000)]
    assert suppressed_among(asked) == set(listed)
    assert suppressed_among([]) == set()
