"""Factories for test data: fictional people at reserved example addresses."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from alumni.extensions import db
from alumni.hashing import student_key
from alumni.models import Alumnus, AlumnusStatus, Gender
from alumni.purposes import Purpose

_numbers = itertools.count(1)


def make_alumnus(status: AlumnusStatus = AlumnusStatus.INVITED, **fields: Any) -> Alumnus:
    n = next(_numbers)
    values: dict[str, Any] = {
        "student_key": student_key(f"S{n:06d}"),
        "first_name": "Test",
        "last_name": f"Persoon{n}",
        "preferred_name": None,
        "programme": "Software Developer",
        "phone": "+31612345678",
        "email": f"test.persoon{n}@alumni.example",
        "gender": Gender.UNKNOWN,
        "date_of_birth": date(2000, 1, 1),
        "graduation_year": 2022,
        "status": status,
        **fields,
    }
    alumnus = Alumnus(**values)
    db.session.add(alumnus)
    db.session.commit()
    return alumnus


def answer(alumnus: Alumnus, granted: set[Purpose]) -> None:
    """Give an alumnus the consents in ``granted`` as if they filled in the form."""
    from alumni.answers import answer_invitation

    answer_invitation(alumnus, {purpose: purpose in granted for purpose in Purpose}, {})
    db.session.commit()


CSV_HEADER = (
    "student_number,first_name,last_name,preferred_name,email,phone,gender,"
    "date_of_birth,programme,graduation_year"
)
