"""Demo graduates for the embedded setup: fictional people at reserved example addresses."""

from __future__ import annotations

import sqlalchemy as sa

from alumni.extensions import db
from alumni.importer import COLUMNS, import_graduates
from alumni.models import Alumnus

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
