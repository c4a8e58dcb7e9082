"""Demo data for the embedded setup: fictional graduates at reserved example addresses, and an
officer account so that a newcomer can see the staff pages too."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from alumni.accounts import staff as accounts
from alumni.extensions import db
from alumni.models import Alumnus, Role
from alumni.people.importer import COLUMNS, import_graduates

DEMO_OFFICER_EMAIL = "officer@demo-college.example"
# Next to secret-keys.json, and like it readable by the operator only.
LOGIN_FILE = "demo-staff-login.json"

DEMO_GRADUATES = [
    ("D0001", "Sanne", "de Vries", "", "f", "1999-04-12", "Verpleegkunde", 2021, "nl"),
    ("D0002", "Daan", "Jansen", "", "m", "2000-09-30", "Software Developer", 2022, "nl"),
    ("D0003", "Fatima", "El Amrani", "Fatima", "f", "1998-01-05", "Logistiek", 2020, "nl"),
    ("D0004", "Jeroen", "Bakker", "Jer", "m", "1997-07-21", "Elektrotechniek", 2019, "nl"),
    ("D0005", "Noor", "Visser", "", "x", "2001-02-14", "Mediavormgeving", 2023, "nl"),
    ("D0006", "Lucas", "Smit", "", "m", "1999-11-02", "Software Developer", 2021, "en"),
    ("D0007", "Emma", "Meijer", "", "f", "2002-06-18", "Verzorgende IG", 2024, "nl"),
    ("D0008", "Mohamed", "Yilmaz", "Mo", "m", "1996-03-09", "Logistiek", 2018, "nl"),
    ("D0009", "Lotte", "de Boer", "", "f", "2000-12-24", "Pedagogisch Medewerker", 2022, "nl"),
    ("D0010", "Ruben", "Mulder", "", "u", "1998-08-08", "Elektrotechniek", 2020, "en"),
]


def has_graduates() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus)) > 0


def load() -> int:
    """Import the demo graduates through the real importer; returns how many were added."""
    rows = [",".join((*COLUMNS, "language"))]
    for number, first, last, preferred, gender, born, programme, year, language in DEMO_GRADUATES:
        email = f"{first}.{last}".lower().replace(" ", "") + "@alumni.example"
        phone = f"0612{number[-4:]}00"
        rows.append(
            ",".join(
                (
                    number,
                    first,
                    last,
                    preferred,
                    email,
                    phone,
                    gender,
                    born,
                    programme,
                    str(year),
                    language,
                )
            )
        )
    report = import_graduates("\n".join(rows).encode(), actor="demo")
    return report.counts["added"]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


def login_file() -> Path:
    return Path(current_app.instance_path) / LOGIN_FILE


def create_officer() -> DemoLogin | None:
    """An officer account with a random password, kept in the login file; None when the address
    has an account already. The caller commits."""
    if accounts.find_staff(DEMO_OFFICER_EMAIL) is not None:
        return None
    login = DemoLogin(DEMO_OFFICER_EMAIL, secrets.token_urlsafe(18))
    accounts.create_staff(login.email, Role.OFFICER, login.password, actor="demo")
    # Kept before the commit: an account whose password nobody knows would help nobody.
    _keep(login)
    return login


def saved_login() -> DemoLogin | None:
    """The login a former ``demo`` kept, while its account exists, is active and still has
    that password."""
    try:
        stored = json.loads(login_file().read_text())
        login = DemoLogin(email=stored["email"], password=stored["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    staff = accounts.find_staff(login.email)
    if staff is None or not staff.active or not accounts.verify_password(staff, login.password):
        return None
    return login


def _keep(login: DemoLogin) -> None:
    path = login_file()
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # the mode of os.open applies only to a new file
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"email": login.email, "password": login.password}, handle)
    os.replace(partial, path)
