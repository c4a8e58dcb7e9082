"""The export for research: only alumni who consent to research now, only four fields.

A research bureau gets what its task needs and nothing more (the privacy statement): the name
to address the person by, the address to write to, and the programme and year to select on.
Alumni who paused all mail (restriction of processing) are left out too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, Consent, ConsentState
from alumni.models.purpose import Purpose

COLUMNS = ("preferred_name", "email", "programme", "graduation_year")
BATCH = 1000
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _consenting() -> sa.Select:
    return (
        sa.select(Alumnus)
        .join(
            Consent,
            sa.and_(
                Consent.alumnus_id == Alumnus.id,
                Consent.purpose == Purpose.RESEARCH,
                Consent.state == ConsentState.GRANTED,
            ),
        )
        .where(Alumnus.status == AlumnusStatus.RESPONDED, Alumnus.paused_at.is_(None))
    )


def count_research_alumni() -> int:
    query = _consenting().with_only_columns(sa.func.count(Alumnus.id))
    return db.session.scalar(query) or 0


def research_rows() -> Iterator[tuple[str, str, str, int | None]]:
    """The rows in order of id, read a batch at a time: memory stays flat."""
    last_id = 0
    while True:
        batch = db.session.execute(
            _consenting()
            .with_only_columns(
                Alumnus.id,
                Alumnus.preferred_name,
                Alumnus.first_name,
                Alumnus.email,
                Alumnus.programme,
                Alumnus.graduation_year,
            )
            .where(Alumnus.id > last_id)
            .order_by(Alumnus.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for row in batch:
            # The name they go by: the preferred name, or the first name when none was given.
            yield (
                row.preferred_name or row.first_name or "",
                row.email or "",
                row.programme or "",
                row.graduation_year,
            )
        last_id = batch[-1].id


def as_csv(rows: Iterator[tuple[object, ...]]) -> Iterator[str]:
    """CSV text, header first, a chunk per row; no cell can become a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_inert(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _inert(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
