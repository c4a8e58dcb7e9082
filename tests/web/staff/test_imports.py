"""The import page: officers upload the administration's CSV file, see every rejected row with
its line and reason, and send the invitations; the same rules as the ``import`` and ``invite``
commands, and both steps in the audit log."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, AuditEntry
from alumni.web.staff.imports import MAX_UPLOAD_BYTES
from tests.conftest import finish_jobs
from tests.support.factories import make_staff
from tests.support.graduates import MIXED, MIXED_GOOD, MIXED_REJECTED, MIXED_WARNED
from tests.support.request_bodies import MB, CountingBody, send_body
from tests.support.staff import StaffAuth, form_token, open_browser

HEADER = (
    "student_number,first_name,last_name,preferred_name,email,phone,gender,date_of_birth,"
    "programme,graduation_year\n"
)


@pytest.fixture
def officer(app):
    return make_staff("officer", email="officer@school.example")


@pytest.fixture
def client(app, officer):
    client = open_browser(app)
    StaffAuth(client).login(officer.email)
    return client


def upload(client, data: bytes, name: str = "graduates.csv"):
    # Encoded here, in memory: the test client would put a large body in a temporary file
    # and never close it.
    boundary, body = encode_multipart(
        {
            "csrf_token": form_token(client, "/staff/import"),
            "csv_file": FileStorage(io.BytesIO(data), filename=name),
        }
    )
    return client.post(
        "/staff/import", data=body, content_type=f'multipart/form-data; boundary="{boundary}"'
    )


def rejected_rows(html: str) -> list[tuple[int, str]]:
    table = re.search(r'<table class="listing" id="rejected-rows">(.*?)</table>', html, re.S)
    if table is None:
        return []
    rows = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", table.group(1))
    return [(int(line), reason) for line, reason in rows]


def count(outcome: str, html: str) -> int:
    label = {"added": "added", "unchanged": "unchanged", "rejected": "rejected"}[outcome]
    return int(re.search(rf'<th scope="row">{label}</th><td>(\d+)</td>', html).group(1))


def test_an_upload_reports_each_bad_row_and_imports_the_good_ones(app, client, officer):
    response = upload(client, MIXED.read_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert [line for line, _ in rejected_rows(html)] == [line for line, _ in MIXED_REJECTED]
    assert all(reason for _, reason in rejected_rows(html))  # a sentence, not a code
    assert count("added", html) == len(MIXED_GOOD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus)) == len(MIXED_GOOD)

    again = upload(client, MIXED.read_bytes()).get_data(as_text=True)
    assert count("added", again) == 0 and count("unchanged", again) == len(MIXED_GOOD)

    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "graduates.imported")
    ).all()
    assert [entry.actor for entry in entries] == [f"staff:{officer.id}"] * 2


def test_the_report_lists_the_rows_imported_with_a_warning(app, client):
    html = upload(client, MIXED.read_bytes()).get_data(as_text=True)

    table = re.search(r'<table class="listing" id="warned-rows">(.*?)</table>', html, re.S)
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>(.+?)</td></tr>", table.group(1))
    assert [(int(line), column) for line, column, _ in rows] == MIXED_WARNED
    assert "12345" not in table.group(1)  # the reason, not the wrong value


def test_the_report_shows_no_personal_value_of_a_rejected_row(app, client):
    row = "S-1,Sanne,de Vries,,sanne.devries@example,0612345678,v,1999-03-31,Verpleegkunde,2021\n"
    html = upload(client, (HEADER + row).encode()).get_data(as_text=True)
    assert rejected_rows(html)[0][0] == 2
    for value in ("sanne.devries@example", "de Vries", "0612345678"):
        assert value not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Nothing imported"),
        (b"\xff\xfe\x00 not text at all \x00\x81", "Nothing imported"),
        (b"name;mail\nSanne;s@example.org\n", "Nothing imported"),
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing_and_says_why(app, client, data, message):
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus)) == 0


def test_no_file_or_a_too_large_one_is_refused_with_a_message(app, client):
    response = client.post(
        "/staff/import", data={"csrf_token": form_token(client, "/staff/import")}
    )
    assert response.status_code == 400
    assert "Choose the CSV file to import." in response.get_data(as_text=True)

    large = upload(client, HEADER.encode() + b"x" * MAX_UPLOAD_BYTES)
    assert large.status_code == 400
    assert "larger than 5 MB" in large.get_data(as_text=True)


def test_a_file_over_the_limit_of_other_requests_but_within_5_mb_is_imported(app, client):
    row = "S-1,Sanne,de Vries,,sanne@alumni.example,0612345678,v,1999-03-31,Verpleegkunde,2021\n"
    blank_lines = (b" " * 1023 + b"\n") * 2048  # the import skips them
    data = (HEADER + row).encode() + blank_lines
    assert app.config["MAX_CONTENT_LENGTH"] < len(data) < MAX_UPLOAD_BYTES
    response = upload(client, data)
    assert response.status_code == 200
    assert count("added", response.get_data(as_text=True)) == 1


def multipart_upload(client, size: int, page: str = "/staff/import") -> CountingBody:
    """A file of about ``size`` bytes for the import, made as it is read, with the CSRF token
    of ``page`` (one this client may see)."""
    start = (
        "--b\r\n"
        'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{form_token(client, page)}\r\n"
        "--b\r\n"
        'Content-Disposition: form-data; name="csv_file"; filename="graduates.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + HEADER.encode()
    return CountingBody(size, start, filler=b"\n")


def test_a_far_larger_file_is_refused_with_the_import_message_before_it_is_read(app, client):
    body = multipart_upload(client, 8 * MB)
    response = send_body(client, "/staff/import", body, 'multipart/form-data; boundary="b"')
    assert response.status_code == 413
    assert "larger than 5 MB" in response.get_data(as_text=True)
    assert body.read_count == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus)) == 0


@pytest.mark.parametrize("who", ["anonymous", "researcher"])
def test_the_larger_limit_is_only_for_those_who_may_import(app, who):
    browser = open_browser(app)
    page = "/staff/login"
    if who == "researcher":
        StaffAuth(browser).login(make_staff("researcher").email)
        page = "/staff/"
    body = multipart_upload(browser, 2 * MB, page)
    response = send_body(browser, "/staff/import", body, 'multipart/form-data; boundary="b"')
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "This is more than we accept" in page and "larger than 5 MB" not in page
    assert body.read_count == 0


def test_the_upload_needs_a_csrf_token(app, client):
    response = client.post(
        "/staff/import",
        data={"csv_file": (io.BytesIO(MIXED.read_bytes()), "graduates.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus)) == 0


@pytest.mark.parametrize("role", ["researcher"])
def test_only_officers_and_admins_import_or_invite(app, role):
    client = open_browser(app)
    StaffAuth(client).login(make_staff(role, email=f"{role}@school.example").email)
    assert client.get("/staff/import").status_code == 403
    assert client.post("/staff/invite", data={"cohort": "all"}).status_code in (400, 403)
    anonymous = open_browser(app)
    assert anonymous.get("/staff/import").status_code == 302


def test_invitations_go_to_the_chosen_year_once(app, client, officer, outbox):
    upload(client, MIXED.read_bytes())
    html = client.get("/staff/import").get_data(as_text=True)
    years = dict(re.findall(r'<option value="(\d{4})">Graduated in \d{4} \((\d+)\)</option>', html))
    year, waiting = next(iter(years.items()))

    response = client.post(
        "/staff/invite",
        data={"csrf_token": form_token(client, "/staff/import"), "cohort": year},
    )
    assert response.status_code == 303
    assert f"{waiting} invitation" in client.get("/staff/import").get_data(as_text=True)
    finish_jobs(app)
    invited = db.session.scalars(
        sa.select(Alumnus).where(Alumnus.status == AlumnusStatus.INVITED)
    ).all()
    assert len(invited) == int(waiting)
    assert {person.graduation_year for person in invited} == {int(year)}
    assert sorted(m["To"] for m in outbox) == sorted(person.email for person in invited)

    client.post(
        "/staff/invite",
        data={"csrf_token": form_token(client, "/staff/import"), "cohort": year},
    )
    finish_jobs(app)
    assert len(outbox) == int(waiting)  # nobody twice
    audit = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "invitations.queued")
    ).all()
    assert [entry.actor for entry in audit] == [f"staff:{officer.id}"]


def test_a_year_nobody_waits_for_is_refused(app, client):
    upload(client, MIXED.read_bytes())
    response = client.post(
        "/staff/invite",
        data={"csrf_token": form_token(client, "/staff/import"), "cohort": "1901"},
    )
    assert response.status_code == 400
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Alumnus)
            .where(Alumnus.status == AlumnusStatus.INVITED)
        )
        == 0
    )


def test_the_page_says_how_many_invitations_are_queued_and_not_sent(
    app, client, outbox, monkeypatch
):
    upload(client, MIXED.read_bytes())
    held: list[tuple] = []  # the jobs wait here, as they would for an unreachable mail server
    monkeypatch.setattr(app.extensions["dramatiq"], "enqueue", lambda *job: held.append(job))
    client.post(
        "/staff/invite",
        data={"csrf_token": form_token(client, "/staff/import"), "cohort": "all"},
    )
    page = client.get("/staff/import").get_data(as_text=True)
    assert len(held) == len(MIXED_GOOD)
    assert f"{len(MIXED_GOOD)} graduates have not had an invitation" in page
    assert f"Of them, {len(MIXED_GOOD)} are queued" in page
    assert outbox == []
