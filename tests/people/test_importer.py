"""Importing graduates from CSV (alumni/importer.py and the ``import`` command).

Acceptance: "A CSV with a dozen kinds of bad rows reports each with its line and reason and imports
the good ones; importing it again changes nothing." The file ``data/graduates_mixed.csv`` is a Dutch
spreadsheet export: UTF-8 with BOM, ``;``, CRLF, and a quoted field with a line break in it, so
that the line numbers after it are tested too.

The command's output may be Dutch or English: its tests read line numbers and codes, not prose.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from alumni.consent.answers import answer_invitation
from alumni.core.pseudonyms import student_key
from alumni.erasure import erase_alumnus
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    AuditEntry,
    EvidenceChannel,
    Gender,
    SuppressionReason,
)
from alumni.models.purpose import Purpose
from alumni.people import importer
from alumni.people.importer import ImportFileError, RowOutcome, import_graduates
from alumni.people.invitations import invite_graduates
from alumni.people.links import BadLink, LinkKind, make_token, read_token
from tests.conftest import finish_jobs
from tests.support.factories import CSV_HEADER, make_alumnus
from tests.support.graduates import MIXED, MIXED_GOOD, MIXED_REJECTED, MIXED_WARNED


def import_file(data: bytes, **kwargs: Any) -> tuple[importer.ImportReport, list[RowOutcome]]:
    outcomes: list[RowOutcome] = []
    report = import_graduates(data, on_row=outcomes.append, **kwargs)
    return report, outcomes


def rejected(report: importer.ImportReport) -> list[tuple[int, str | None]]:
    return [(outcome.line, outcome.code) for outcome in report.rejected]


def lines_with(outcomes: list[RowOutcome], outcome: str) -> list[int]:
    return [row.line for row in outcomes if row.outcome == outcome]


def graduate(number: str) -> Alumnus:
    alumnus = db.session.scalar(
        sa.select(Alumnus).where(Alumnus.student_key == student_key(number))
    )
    assert alumnus is not None, number
    return alumnus


def alumni_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus))


def dump(*, skip: tuple[str, ...] = ("audit_log",)) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (timestamps included), in primary-key order."""
    db.session.expire_all()
    return {
        table.name: [
            tuple(row)
            for row in db.session.execute(
                sa.select(table).order_by(*table.primary_key.columns)
            ).all()
        ]
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def csv_row(
    number: str = "S2001",
    *,
    first: str = "Anna",
    last: str = "de Vries",
    preferred: str = "",
    email: str = "anna.devries@alumni.example",
    phone: str = "06-12345678",
    gender: str = "v",
    born: str = "31-03-2001",
    programme: str = "Verpleegkunde",
    year: str = "2022",
) -> str:
    """A valid row for the comma-separated header of ``tests.support.factories.CSV_HEADER``."""
    return ",".join((number, first, last, preferred, email, phone, gender, born, programme, year))


def comma_file(*rows: str) -> bytes:
    return "\n".join((CSV_HEADER, *rows)).encode("utf-8")


# -- the acceptance file -----------------------------------------------------------------------


def test_each_bad_row_is_reported_with_its_line_and_reason(app):
    report, outcomes = import_file(MIXED.read_bytes())

    assert rejected(report) == MIXED_REJECTED
    assert all(str(row.message).strip() for row in report.rejected)
    assert lines_with(outcomes, "added") == MIXED_GOOD
    assert dict(report.counts) == {"added": len(MIXED_GOOD), "rejected": len(MIXED_REJECTED)}
    # Every row once, in file order; the continuation line and the empty row are no rows.
    assert [row.line for row in outcomes] == sorted(MIXED_GOOD + [n for n, _ in MIXED_REJECTED])
    assert alumni_count() == len(MIXED_GOOD)


def test_the_good_rows_are_stored_with_clean_values(app):
    import_graduates(MIXED.read_bytes())

    anna = graduate("S1001")
    assert (anna.first_name, anna.last_name, anna.preferred_name) == ("Anna", "de Vries", None)
    assert anna.email == "anna.de.vries@example.com"  # was Anna.De.Vries@Example.COM
    assert anna.phone == "+31612345678"  # was 06-12345678
    assert anna.gender is Gender.FEMALE  # was V
    assert anna.date_of_birth == date(2001, 3, 31)  # was 31-03-2001
    assert (anna.programme, anna.graduation_year, anna.locale) == ("Software Developer", 2022, "nl")
    assert anna.status is AlumnusStatus.IMPORTED and anna.link_version == 1

    bram = graduate("S1002")
    assert (bram.preferred_name, bram.phone, bram.gender) == (
        "Bram J.",
        "+31201234567",
        Gender.MALE,
    )
    assert (bram.date_of_birth, bram.locale) == (date(2000, 12, 1), "en")

    chantal = graduate("S1003")  # the row with a line break in its programme
    assert chantal.programme == "Mediavormgeving niveau 4"
    assert (chantal.phone, chantal.gender, chantal.locale) == (None, Gender.NONBINARY, "nl")
    assert chantal.date_of_birth == date(1999, 6, 15)  # was 15/06/1999

    quinten = graduate("S1004")  # after the empty row
    assert (quinten.phone, quinten.gender, quinten.locale) == ("+31687654321", Gender.UNKNOWN, "en")

    # No personal data in clear beyond the nine fields: the student number only as a keyed hash.
    assert all("S100" not in str(value) for value in dump()["alumni"][0])


def test_importing_the_same_file_again_changes_nothing(app):
    data = MIXED.read_bytes()
    import_graduates(data)
    before = dump()

    report, outcomes = import_file(data)

    assert lines_with(outcomes, "unchanged") == MIXED_GOOD
    assert rejected(report) == MIXED_REJECTED
    assert dict(report.counts) == {"unchanged": len(MIXED_GOOD), "rejected": len(MIXED_REJECTED)}
    assert dump() == before  # every table, updated_at included
    runs = audit_entries("graduates.imported")
    assert [entry.details for entry in runs] == [
        {"added": 6, "rejected": 13},
        {"unchanged": 6, "rejected": 13},
    ]


def test_a_wrong_optional_value_is_left_empty_and_the_graduate_imported(app):
    """Issue 15: ``0698765432`` is no phone number, and rejected a whole row before."""
    rows = (
        csv_row("S2001", phone="0698765432"),
        csv_row("S2002", email="b@alumni.example", gender="zeg ik liever niet"),
        csv_row("S2003", email="c@alumni.example", preferred="x" * 101, phone="12345"),
    )
    report, outcomes = import_file(comma_file(*rows))

    assert [row.outcome for row in outcomes] == ["added"] * 3
    assert report.rejected == [] and report.warned == outcomes
    assert [[warning.column for warning in row.warnings] for row in outcomes] == [
        ["phone"],
        ["gender"],
        ["preferred_name", "phone"],
    ]
    # The column is named once, beside the message (the page has a column for it).
    assert "phone" not in str(outcomes[0].warnings[0].message)
    assert graduate("S2001").phone is None and graduate("S2001").gender == Gender.FEMALE
    assert graduate("S2002").gender is None and graduate("S2002").phone == "+31612345678"
    assert graduate("S2003").preferred_name is None and graduate("S2003").phone is None


def test_a_wrong_optional_value_in_a_later_import_keeps_the_stored_one(app):
    import_file(comma_file(csv_row("S2001")))

    _, outcomes = import_file(comma_file(csv_row("S2001", phone="0698765432")))

    assert [(row.outcome, row.warnings[0].column) for row in outcomes] == [("unchanged", "phone")]
    assert graduate("S2001").phone == "+31612345678"


def test_a_required_field_still_rejects_the_row(app):
    report, _ = import_file(comma_file(csv_row(phone="0698765432", born="")))

    assert rejected(report) == [(2, "missing-date-of-birth")]
    assert report.warned == [] and alumni_count() == 0


def test_a_graduate_imported_with_a_warning_is_invited(app, outbox):
    import_file(comma_file(csv_row(phone="0698765432")))

    assert len(invite_graduates()) == 1
    finish_jobs(app)
    assert [message["To"] for message in outbox] == ["anna.devries@alumni.example"]


def test_small_batches_give_the_same_report(app, monkeypatch):
    """Rows are stored per batch: duplicates and line order hold across batch boundaries."""
    monkeypatch.setattr(importer, "BATCH", 2)
    report, outcomes = import_file(MIXED.read_bytes())

    assert rejected(report) == MIXED_REJECTED
    assert lines_with(outcomes, "added") == MIXED_GOOD
    assert [row.line for row in outcomes] == sorted(row.line for row in outcomes)


# -- file formats ------------------------------------------------------------------------------


def test_a_comma_separated_file_without_bom_is_imported(app):
    data = comma_file(
        csv_row("S2001"),
        csv_row("S2002", first="Bram", email="Bram@Alumni.Example", phone="+31 20 123 4567"),
    )
    assert not data.startswith(b"\xef\xbb\xbf")

    report, outcomes = import_file(data)

    assert report.rejected == []
    assert lines_with(outcomes, "added") == [2, 3]
    assert graduate("S2002").email == "bram@alumni.example"
    assert graduate("S2002").phone == "+31201234567"


def test_a_file_that_is_not_utf8_is_refused_and_nothing_is_imported(app):
    text = "\n".join(
        (
            CSV_HEADER,
            csv_row("S2001"),
            csv_row("S2002", email="b@alumni.example"),
            csv_row("S2003", first="Zoë", email="zoe@alumni.example"),
        )
    )
    with pytest.raises(ImportFileError) as refused:
        import_graduates(text.encode("latin-1"))

    assert "4" in str(refused.value.message)  # the line with the first non-UTF-8 byte
    assert alumni_count() == 0
    assert audit_entries("graduates.imported") == []


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (CSV_HEADER.replace(",email", "").replace(",phone", ""), ["email", "phone"]),
        (CSV_HEADER.replace("student_number", "studentnummer"), ["student_number"]),
        ("", ["student_number", "graduation_year"]),
    ],
)
def test_a_header_without_a_required_column_is_refused(app, header, named):
    data = "\n".join((header, csv_row())).encode()
    with pytest.raises(ImportFileError) as refused:
        import_graduates(data)

    assert all(name in str(refused.value.message) for name in named)
    assert alumni_count() == 0


def test_a_header_with_an_unknown_column_is_refused(app):
    data = "\n".join((CSV_HEADER + ",bsn", csv_row() + ",123456782")).encode()
    with pytest.raises(ImportFileError) as refused:
        import_graduates(data)

    assert "bsn" in str(refused.value.message)
    assert alumni_count() == 0


def test_an_unclosed_quote_is_reported_on_the_line_where_its_row_starts(app):
    data = comma_file(
        csv_row("S2001"),
        csv_row("S2002", first='"Bram', email="bram@alumni.example"),
        csv_row("S2003", email="chris@alumni.example"),
        csv_row("S2004", email="dirk@alumni.example"),
    )
    report, outcomes = import_file(data)

    # The quote swallows the rest of the file into one row, which starts on line 3.
    assert rejected(report) == [(3, "wrong-column-count")]
    assert lines_with(outcomes, "added") == [2]


def test_a_file_the_csv_reader_gives_up_on_imports_nothing(app):
    """An unclosed quote that swallows more than the csv module's field limit (128 KiB)."""
    rows = [csv_row(f"S{n:05d}", email=f"g{n}@alumni.example") for n in range(1, 4001)]
    rows[1499] = csv_row("S01500", first='"Bram', email="bram@alumni.example")
    with pytest.raises(ImportFileError) as refused:
        import_graduates(comma_file(*rows))

    assert "1501" in str(refused.value.message)  # header + 1499 rows before it
    assert alumni_count() == 0


# -- re-imports --------------------------------------------------------------------------------


def test_a_reimport_never_overwrites_what_the_graduate_answered(app):
    import_graduates(comma_file(csv_row("S2001")))
    choices = {purpose: purpose is Purpose.EVENTS for purpose in Purpose}
    corrections = {"preferred_name": "Annie", "phone": "+31687654321"}
    answer_invitation(graduate("S2001"), choices, corrections)
    db.session.commit()
    finish_jobs(app)  # the answer's receipt, sent before the import
    before = dump()

    changed = csv_row("S2001", preferred="Anna", phone="06-11111111", programme="Bouwkunde")
    report, outcomes = import_file(comma_file(changed))

    assert [(row.line, row.outcome) for row in outcomes] == [(2, "kept")]
    assert report.rejected == []
    assert dump() == before
    anna = graduate("S2001")
    assert (anna.preferred_name, anna.phone, anna.programme) == (
        "Annie",
        "+31687654321",
        "Verpleegkunde",
    )


@pytest.mark.parametrize("status", [AlumnusStatus.IMPORTED, AlumnusStatus.INVITED])
def test_a_new_address_before_the_graduate_answered_is_taken_and_ends_old_links(app, status):
    import_graduates(comma_file(csv_row("S2001"), csv_row("S2002", email="bram@alumni.example")))
    anna = graduate("S2001")
    if status is AlumnusStatus.INVITED:
        anna.move_to(AlumnusStatus.INVITED)
        db.session.commit()
    old_link = make_token(LinkKind.OPTIN, anna)
    updated_at = anna.updated_at
    bram_before = dump()["alumni"][1]

    moved = csv_row("S2001", email="Anna.Nieuw@Alumni.Example")
    _, outcomes = import_file(comma_file(moved, csv_row("S2002", email="bram@alumni.example")))

    assert [(row.line, row.outcome) for row in outcomes] == [(2, "updated"), (3, "unchanged")]
    anna = graduate("S2001")
    assert anna.email == "anna.nieuw@alumni.example"
    assert anna.link_version == 2
    assert anna.status is status
    assert anna.updated_at > updated_at
    with pytest.raises(BadLink):
        read_token(LinkKind.OPTIN, old_link)
    assert read_token(LinkKind.OPTIN, make_token(LinkKind.OPTIN, anna)).alumnus.id == anna.id
    assert dump()["alumni"][1] == bram_before


def test_a_correction_by_the_school_before_the_graduate_answered_is_taken(app):
    import_graduates(comma_file(csv_row("S2001")))

    _, outcomes = import_file(comma_file(csv_row("S2001", programme="Bouwkunde")))

    assert [(row.line, row.outcome) for row in outcomes] == [(2, "updated")]
    anna = graduate("S2001")
    assert anna.programme == "Bouwkunde"
    assert anna.link_version == 1  # same address: links stay valid


@pytest.mark.parametrize(
    "row",
    [
        csv_row("S2001"),  # the same row
        csv_row("S2001", email="anna.elders@alumni.example"),  # same student, new address
        csv_row("S2999", email="anna.devries@alumni.example"),  # same address, other number
    ],
    ids=["same-row", "same-student-number", "same-address"],
)
def test_an_erased_graduate_is_never_imported_again(app, row):
    import_graduates(comma_file(csv_row("S2001")))
    anna = graduate("S2001")
    erase_alumnus(
        anna, reason=SuppressionReason.ERASED, channel=EvidenceChannel.STAFF, actor="staff"
    )
    db.session.commit()
    before = dump()

    report = import_graduates(comma_file(row))

    assert rejected(report) == [(2, "suppressed")]
    assert dump() == before
    assert db.session.scalar(sa.select(Alumnus.email).where(Alumnus.id == anna.id)) is None


def test_an_address_of_another_graduate_is_refused(app):
    other = make_alumnus(email="taken@alumni.example")
    before = dump()

    report, outcomes = import_file(
        comma_file(csv_row("S2001", email="Taken@Alumni.Example"), csv_row("S2002"))
    )

    assert rejected(report) == [(2, "email-in-use")]
    assert lines_with(outcomes, "added") == [3]
    assert dump()["alumni"][0] == before["alumni"][0]
    assert db.session.get(Alumnus, other.id).email == "taken@alumni.example"


# -- the command -------------------------------------------------------------------------------

CODED = re.compile(r"^\D*(\d+)\D.*?\(([a-z]+(?:-[a-z]+)+|suppressed)\)")


def reported(output: str) -> tuple[list[tuple[int, str]], list[int], list[int]]:
    """(line, code) of rejected rows, line numbers of the other rows, numbers in the summary."""
    lines = [line for line in output.splitlines() if line.strip()]
    coded = [match.groups() for line in lines if (match := CODED.match(line))]
    others = [int(re.findall(r"\d+", line)[0]) for line in lines[:-1] if not CODED.match(line)]
    summary = [int(number) for number in re.findall(r"\d+", lines[-1])]
    return [(int(line), code) for line, code in coded], others, summary


def test_the_import_command_reports_every_row_and_a_summary(app, runner):
    result = runner.invoke(args=["import", str(MIXED)])

    assert result.exit_code == 0, result.output
    coded, others, summary = reported(result.output)
    assert coded == MIXED_REJECTED
    assert others == MIXED_GOOD
    # rows, added, updated, unchanged, kept, rejected, warned: in whatever order the language
    # puts them
    assert sorted(summary) == sorted([19, 6, 0, 0, 0, 13, 2])
    assert alumni_count() == 6

    again = runner.invoke(args=["import", str(MIXED), "--quiet"])

    assert again.exit_code == 0, again.output
    coded, others, summary = reported(again.output)
    assert coded == MIXED_REJECTED
    # --quiet: only the rejected rows, the rows with a warning, and the summary
    assert others == [line for line, _ in MIXED_WARNED]
    assert sorted(summary) == sorted([19, 0, 0, 6, 0, 13, 2])


def test_the_import_command_names_the_column_it_left_empty(app, runner):
    result = runner.invoke(args=["import", str(MIXED), "--quiet"])

    warned = [line for line in result.output.splitlines() if re.match(r"\D*1[01]\D", line)]
    assert len(warned) == 2
    assert "phone" in warned[0] and "12345" not in warned[0]  # the column, not the value
    assert "gender" in warned[1] and "zeg ik liever niet" not in warned[1]


def test_the_import_command_refuses_a_file_it_cannot_read(app, runner, tmp_path):
    latin1 = tmp_path / "export.csv"
    latin1.write_bytes("\n".join((CSV_HEADER, csv_row(first="Zoë"))).encode("latin-1"))

    result = runner.invoke(args=["import", str(latin1)])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "2" in result.stderr  # the line of the first byte that is not UTF-8
    assert alumni_count() == 0


def test_the_import_command_names_the_missing_columns(app, runner, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(CSV_HEADER.replace(",date_of_birth", "") + "\n")

    result = runner.invoke(args=["import", str(export)])

    assert result.exit_code == 1
    assert "date_of_birth" in result.stderr


def test_the_import_command_needs_an_existing_file(app, runner, tmp_path):
    result = runner.invoke(args=["import", str(tmp_path / "missing.csv")])

    assert result.exit_code == 2
    assert alumni_count() == 0
