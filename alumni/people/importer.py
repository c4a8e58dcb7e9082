"""Importing graduates from a CSV export of the student records.

Every row is validated; good rows are stored in batches, bad rows are reported with their line
number and reason. A wrong value in an optional column (phone, preferred name, gender) does not
cost the graduate their invitation: the field stays empty and the row is imported with a warning
that names the column. Idempotent by student number (kept only as a keyed hash). A re-import never
touches someone who answered the consent form: from then on the data is theirs to correct.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from alumni import audit
from alumni.consent.suppression import suppressed_among
from alumni.core.pseudonyms import email_suppression_key, student_key, student_suppression_key
from alumni.extensions import db
from alumni.models import PERSONAL_FIELDS, Alumnus, AlumnusStatus, utcnow
from alumni.models.alumnus import new_subject_id
from alumni.models.base import among
from alumni.people.validation import (
    InvalidValue,
    parse_date_of_birth,
    parse_email,
    parse_gender,
    parse_graduation_year,
    parse_name,
    parse_phone,
    parse_programme,
)

# The file's columns: the student number, then the personal fields in their order.
COLUMNS = ("student_number", *PERSONAL_FIELDS)
OPTIONAL_COLUMNS = ("language",)
LANGUAGES = ("nl", "en")
BATCH = 5000  # rows per transaction: fewer commits, and index pages shared by more rows
# Fields an import may set; the alumnus's own corrections win once they have answered.
IMPORTED_FIELDS = (*PERSONAL_FIELDS, "locale")


class ImportFileError(Exception):
    """The file as a whole cannot be read: nothing was imported."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


# Optional columns: a wrong value is left out (the field stays empty) and the row imported with
# a warning, so that a typo in a phone number does not keep a graduate from their invitation.
LENIENT_COLUMNS: dict[str, Callable[[str], Any]] = {
    "preferred_name": partial(parse_name, code="invalid-preferred-name", required=False),
    "phone": parse_phone,
    "gender": parse_gender,
}


@dataclass(frozen=True)
class RowWarning:
    """An optional column's value that was not imported, and why."""

    column: str
    code: str
    message: object


@dataclass(frozen=True)
class RowOutcome:
    line: int
    outcome: str  # added, updated, unchanged, kept, rejected
    code: str | None = None
    message: object = None
    warnings: tuple[RowWarning, ...] = ()


@dataclass
class ImportReport:
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[RowOutcome] = field(default_factory=list)
    warned: list[RowOutcome] = field(default_factory=list)  # imported, with a column left out

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


@dataclass
class _Row:
    line: int
    key: str
    values: dict[str, Any]
    warnings: tuple[RowWarning, ...] = ()


def import_graduates(
    data: bytes,
    *,
    on_row: Callable[[RowOutcome], None] | None = None,
    actor: str = "cli",
    today: date | None = None,
) -> ImportReport:
    """Import a CSV file given as bytes; report every row through ``on_row``. Commits each
    batch of ``BATCH`` rows: a file of any size in transactions of a bounded size."""
    report = ImportReport()
    today = today or date.today()

    def emit(outcome: RowOutcome) -> None:
        report.counts[outcome.outcome] += 1
        if outcome.outcome == "rejected":
            report.rejected.append(outcome)
        elif outcome.warnings:
            report.warned.append(outcome)
        if on_row is not None:
            on_row(outcome)

    seen_students: dict[str, int] = {}
    seen_emails: dict[str, tuple[str, int]] = {}
    batch: list[_Row] = []
    early: list[RowOutcome] = []  # rejected before storing; reported in line order with the rest

    def flush() -> None:
        for outcome in sorted(early + _store(batch), key=lambda outcome: outcome.line):
            emit(outcome)
        early.clear()
        batch.clear()

    for line, raw in _read_rows(data):
        try:
            row = _validate(line, raw, today)
        except InvalidValue as invalid:
            early.append(RowOutcome(line, "rejected", invalid.code, _about_column(invalid)))
            continue
        if row.key in seen_students:
            early.append(_duplicate(line, "duplicate-student-number", seen_students[row.key]))
            continue
        email_owner = seen_emails.get(row.values["email"])
        if email_owner is not None and email_owner[0] != row.key:
            early.append(_duplicate(line, "duplicate-email", email_owner[1]))
            continue
        seen_students[row.key] = line
        seen_emails[row.values["email"]] = (row.key, line)
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    flush()
    audit.record("graduates.imported", actor=actor, **dict(report.counts))
    db.session.commit()
    return report


def _about_column(invalid: InvalidValue) -> object:
    """The refusal's message led by the column it is about ("first_name: This field is
    required."): the school's file has the same header. The column is in the code."""
    column = invalid.code.partition("-")[2].replace("-", "_")
    if column not in COLUMNS + OPTIONAL_COLUMNS:
        return invalid.message
    return _l("%(column)s: %(reason)s", column=column, reason=invalid.message)


def _duplicate(line: int, code: str, first_line: int) -> RowOutcome:
    messages = {
        "duplicate-student-number": _l(
            "This student number is also on line %(line)d.", line=first_line
        ),
        "duplicate-email": _l(
            "This email address belongs to another student on line %(line)d.", line=first_line
        ),
    }
    return RowOutcome(line, "rejected", code, messages[code])


def _read_rows(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as dicts with the line each starts on; UTF-8 with or without BOM, ``;`` or ``,``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(
            _l(
                'The file is not UTF-8 (line %(line)d). Save it as "CSV UTF-8" and try again.',
                line=line,
            )
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    _check_csv(text, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ImportFileError(
            _l("Columns missing from the header: %(names)s.", names=", ".join(missing))
        )
    unknown = [name for name in header if name not in COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise ImportFileError(
            _l("Unknown columns in the header: %(names)s.", names=", ".join(unknown))
        )
    start = reader.line_num + 1
    for cells in reader:
        # A quoted field may hold line breaks: report the line the row starts on.
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield line, {"__columns__": str(len(cells)), "__expected__": str(len(header))}
            continue
        yield line, dict(zip(header, cells, strict=True))


def _check_csv(text: str, delimiter: str) -> None:
    """Read the whole file once before storing anything: a CSV error means nothing imported."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for _cells in reader:
            start = reader.line_num + 1
    except csv.Error:
        raise ImportFileError(
            _l(
                'The file cannot be read from line %(line)d on: is a quote (") not closed?',
                line=start,
            )
        ) from None


def _validate(line: int, raw: dict[str, str], today: date) -> _Row:
    if "__columns__" in raw:
        raise InvalidValue(
            "wrong-column-count",
            _l(
                "This row has %(found)s fields instead of %(expected)d.",
                found=raw["__columns__"],
                expected=int(raw["__expected__"]),
            ),
        )
    number = raw["student_number"].strip()
    if not number:
        raise InvalidValue("missing-student-number", _l("The student number is missing."))
    language = raw.get("language", "").strip().lower() or "nl"
    if language not in LANGUAGES:
        raise InvalidValue("invalid-language", _l("The language must be nl or en."))
    values = {
        "first_name": parse_name(raw["first_name"], code="missing-first-name"),
        "last_name": parse_name(raw["last_name"], code="missing-last-name"),
        "email": parse_email(raw["email"]),
        "date_of_birth": parse_date_of_birth(raw["date_of_birth"], today),
        "programme": parse_programme(raw["programme"]),
        "graduation_year": parse_graduation_year(raw["graduation_year"], today),
        "locale": language,
    }
    warnings = []
    for column, parse in LENIENT_COLUMNS.items():
        try:
            values[column] = parse(raw[column])
        except InvalidValue as invalid:
            values[column] = None
            warnings.append(RowWarning(column, invalid.code, _about_column(invalid)))
    return _Row(line, student_key(number), values, tuple(warnings))


def _store(batch: list[_Row]) -> list[RowOutcome]:
    """Store one batch: three look-ups, one bulk insert, the rare updates, one commit."""
    if not batch:
        return []
    suppression_keys = {
        row.line: (email_suppression_key(row.values["email"]), student_suppression_key(row.key))
        for row in batch
    }
    suppressed = suppressed_among(key for keys in suppression_keys.values() for key in keys)
    existing = _existing(batch)
    email_owners = _email_owners(batch)
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    outcomes: list[RowOutcome] = []
    for row in batch:
        email = row.values["email"]
        if not suppressed.isdisjoint(suppression_keys[row.line]):
            outcomes.append(
                RowOutcome(
                    row.line,
                    "rejected",
                    "suppressed",
                    _l("This person withdrew or was erased: they are never imported again."),
                )
            )
            continue
        if email in email_owners and email_owners[email] != row.key:
            outcomes.append(
                RowOutcome(
                    row.line,
                    "rejected",
                    "email-in-use",
                    _l("This email address belongs to another graduate."),
                )
            )
            continue
        found = existing.get(row.key)
        if found is None:
            inserts.append(_new_alumnus(row, now))
            outcomes.append(RowOutcome(row.line, "added", warnings=row.warnings))
        elif found.status not in (AlumnusStatus.IMPORTED, AlumnusStatus.INVITED):
            outcomes.append(RowOutcome(row.line, "kept"))
        else:
            update = _changes(found, row, now)
            if update:
                updates.append(update)
            outcome = "updated" if update else "unchanged"
            outcomes.append(RowOutcome(row.line, outcome, warnings=row.warnings))
    if inserts:
        _insert(inserts)
    for update in updates:  # rare: a school's corrections before the person answered
        db.session.execute(sa.update(Alumnus).where(Alumnus.id == update.pop("id")).values(update))
    db.session.commit()
    return outcomes


def _existing(batch: list[_Row]) -> dict[str, sa.Row[Any]]:
    """The batch's graduates already in the database, by student key."""
    query = sa.select(
        Alumnus.id,
        Alumnus.student_key,
        Alumnus.status,
        Alumnus.link_version,
        *[getattr(Alumnus, name) for name in IMPORTED_FIELDS],
    ).where(among(Alumnus.student_key, [row.key for row in batch]))
    return {found.student_key: found for found in db.session.execute(query)}


def _email_owners(batch: list[_Row]) -> dict[str, str]:
    """Student key of whoever in the database has one of the batch's addresses."""
    query = sa.select(Alumnus.email, Alumnus.student_key).where(
        among(Alumnus.email, [row.values["email"] for row in batch])
    )
    return {email: key for email, key in db.session.execute(query)}


def _insert(rows: list[dict[str, Any]]) -> None:
    """Insert new graduates straight through the driver: COPY on PostgreSQL, one executemany
    of plain tuples on SQLite.

    Not the ORM (it splits a bulk insert wherever the pattern of empty values changes) and not
    Core's executemany (its per-row parameter handling cost as much as SQLite's own work).
    """
    table = Alumnus.__table__
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    # The values as SQLAlchemy would send them (enums by value, datetimes as naive UTC).
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    values = (
        [
            row[name] if process is None else process(row[name])
            for name, process in zip(names, processors, strict=True)
        ]
        for row in rows
    )
    quote = dialect.identifier_preparer.quote
    columns = f"{quote(table.name)} ({', '.join(map(quote, names))})"
    driver = connection.connection.driver_connection
    if dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {columns} FROM STDIN") as copy:
            for row_values in values:
                copy.write_row(row_values)
        return
    placeholders = ", ".join("?" * len(names))
    driver.executemany(f"INSERT INTO {columns} VALUES ({placeholders})", values)


def _new_alumnus(row: _Row, now: datetime) -> dict[str, Any]:
    return {
        **row.values,
        "student_key": row.key,
        "subject_id": new_subject_id(),
        "status": AlumnusStatus.IMPORTED,
        "imported_at": now,
        "updated_at": now,
        "link_version": 1,
    }


def _changes(found: sa.Row[Any], row: _Row, now: datetime) -> dict[str, Any] | None:
    """The update for a graduate who has not answered yet, or None when nothing changed.

    A column left out for its wrong value keeps what the database holds."""
    left_out = {warning.column for warning in row.warnings}
    changes = {
        name: value
        for name, value in row.values.items()
        if name not in left_out and getattr(found, name) != value
    }
    if not changes:
        return None
    if "email" in changes:  # links sent to the old address must stop working
        changes["link_version"] = found.link_version + 1
        # and its bounces say nothing of the new one (alumni.bounces.marks.address_changed)
        changes |= {"undeliverable_at": None, "undeliverable_reason": None}
        changes["bounces_counted_from"] = now
    return {"id": found.id, "updated_at": now, **changes}


OUTCOME_LABELS = {
    "added": _l("added"),
    "updated": _l("updated"),
    "unchanged": _l("unchanged"),
    "kept": _l("kept: the graduate manages their own data"),
    "rejected": _l("rejected"),
}
