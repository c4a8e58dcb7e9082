"""``among``: a column among many values, in one parameter, on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus
from alumni.models.base import among
from tests.support.factories import make_alumnus


def test_among_finds_exactly_the_values_given_strings_or_integers(app):
    people = [make_alumnus() for _ in range(5)]
    wanted = people[1::2]
    ids = [person.id for person in wanted] + [10_000_000]  # one that is nobody
    by_id = db.session.scalars(sa.select(Alumnus.id).where(among(Alumnus.id, ids)))
    assert sorted(by_id) == sorted(person.id for person in wanted)
    subjects = [person.subject_id for person in wanted]
    by_subject = db.session.scalars(
        sa.select(Alumnus.id).where(among(Alumnus.subject_id, subjects))
    )
    assert sorted(by_subject) == sorted(person.id for person in wanted)


def test_among_takes_thousands_of_values_and_none(app):
    person = make_alumnus()
    many = [*range(-5000, 0), person.id]
    assert db.session.scalars(sa.select(Alumnus.id).where(among(Alumnus.id, many))).all() == [
        person.id
    ]
    assert db.session.scalars(sa.select(Alumnus.id).where(among(Alumnus.id, []))).all() == []
