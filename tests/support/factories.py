"""Factories for test data: fictional people at reserved example addresses."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from flask import current_app

from alumni.core.pseudonyms import student_key
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, Gender
from alumni.models.purpose import Purpose

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
    """Give an alumnus the consents in ``granted`` as if they filled in the form; no to
    everything erases them. With the in-process queue, what the answer queued (an erasure) is
    done before this returns.

    The answer owes no receipt: a receipt of an answer made to set a test up is not what the
    test looks at (tests/consent/test_receipts.py is), and with a real mail server and workers
    it would arrive among the mail the test counts, at a time nobody controls."""
    from alumni.consent.answers import answer_invitation

    answer_invitation(alumnus, {purpose: purpose in granted for purpose in Purpose}, {})
    alumnus.receipt_due_at = None  # its queued job finds nothing owed
    db.session.commit()
    current_app.extensions["dramatiq"].finish_queued_work()
    db.session.refresh(alumnus)


CSV_HEADER = (
    "student_number,first_name,last_name,preferred_name,email,phone,gender,"
    "date_of_birth,programme,graduation_year"
)


STAFF_PASSWORD = "correct horse battery staple"
# Every factory-made staff account has this TOTP key (pass totp_secret=None for none).
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_staff_numbers = itertools.count(1)


def make_staff(
    role: str = "officer",
    email: str | None = None,
    password: str = STAFF_PASSWORD,
    **fields: Any,
) -> Any:
    """A staff account (``StaffUser``) at a reserved example address."""
    from alumni.accounts.staff import hash_password
    from alumni.models import Role, StaffUser

    fields.setdefault("totp_secret", STAFF_TOTP_SECRET)  # enrolled: StaffAuth types its codes
    staff = StaffUser(
        email=email or f"staff{next(_staff_numbers)}@school.example",
        role=Role(role),
        password_hash=hash_password(password),
        **fields,
    )
    db.session.add(staff)
    db.session.commit()
    return staff


def make_campaign(purpose: Purpose = Purpose.EVENTS, **fields: Any) -> Any:
    """A draft campaign; schedule it with alumni.campaigns.service.schedule."""
    from alumni.campaigns.service import create_campaign

    values: dict[str, Any] = {
        "purpose": purpose,
        "subject": "Alumnidag 2027",
        "body": "Kom naar de **alumnidag** op 12 maart.\n\n[Aanmelden](https://school.example/dag)",
        **fields,
    }
    campaign = create_campaign(**values)
    db.session.commit()
    return campaign


def send_now(app: Any, campaign: Any) -> None:
    """Schedule a campaign and send it with the in-process worker, to the end."""
    from alumni.campaigns import sending
    from alumni.campaigns.service import schedule

    schedule(campaign)
    db.session.commit()
    sending.tick()
    app.extensions["dramatiq"].finish_queued_work()
    sending.tick()  # finishes the campaign once its batches are done
    db.session.expire_all()


def held_batches(app: Any, monkeypatch: Any, campaign: Any) -> list[int]:
    """Start the campaign and cut it into batches, holding their jobs: the test runs them."""
    from alumni.campaigns import sending
    from alumni.campaigns.service import schedule

    queued: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        app.extensions["dramatiq"], "enqueue", lambda name, *args: queued.append((name, args))
    )
    schedule(campaign)
    db.session.commit()
    sending.start_due_campaigns(sending.utcnow())
    sending.dispatch(campaign.id)
    return [args[0] for name, args in queued if name == "send_campaign_batch"]
