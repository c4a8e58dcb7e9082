"""The accountability pack for the privacy officer: the consent evidence of a period as CSV and
JSON (pseudonymous, audit-logged), and the record of processing activities that follows the
configuration, as a page and as the ``register`` command."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni.consent import notices
from alumni.consent.decisions import record_choices
from alumni.extensions import db
from alumni.models import LOCAL_TIME, AuditEntry, EvidenceChannel, utcnow
from alumni.models.purpose import Purpose
from tests.conftest import FIRST_NOTICE
from tests.support.factories import make_alumnus, make_staff
from tests.support.staff import StaffAuth, form_token, open_browser

ADMIN = "admin@school.example"


@pytest.fixture
def config_overrides():
    return {"BABEL_DEFAULT_LOCALE": "en"}  # the command's texts are read in English


@pytest.fixture
def admin(app) -> StaffAuth:
    make_staff("admin", email=ADMIN)
    auth = StaffAuth(open_browser(app))
    auth.login(ADMIN)
    return auth


def decisions_on_two_days():
    """Two people decide today; one of them decided 40 days ago too."""
    early, late = make_alumnus(), make_alumnus()
    record_choices(
        early, {Purpose.EVENTS: True}, EvidenceChannel.OPTIN_FORM, at=utcnow() - timedelta(40)
    )
    record_choices(early, {Purpose.EVENTS: False}, EvidenceChannel.ONE_CLICK)
    record_choices(
        late, {Purpose.RESEARCH: True, Purpose.COURSES: False}, EvidenceChannel.OPTIN_FORM
    )
    db.session.commit()
    return early, late


def download(admin: StaffAuth, **fields: str):
    token = form_token(admin.client, "/staff/evidence")
    return admin.client.post("/staff/evidence", data={"csrf_token": token, **fields})


def today() -> str:
    return utcnow().astimezone(LOCAL_TIME).date().isoformat()


def test_the_evidence_of_a_period_as_csv(app, admin):
    early, late = decisions_on_two_days()
    response = download(admin, since=today(), until=today(), format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [
        (row["subject_id"], row["purpose"], row["decision"], row["channel"]) for row in rows
    ] == [
        (early.subject_id, "events", "withdrawn", "one_click"),
        (late.subject_id, "research", "granted", "optin_form"),
        (late.subject_id, "courses", "withdrawn", "optin_form"),
    ]
    first = notices.find(FIRST_NOTICE)
    assert {
        (row["notice_version"], row["notice_sha256_nl"], row["notice_sha256_en"]) for row in rows
    } == {(FIRST_NOTICE, first.sha256_nl, first.sha256_en)}
    body = response.get_data(as_text=True)
    assert early.email not in body and early.first_name not in body  # pseudonyms only


def test_the_evidence_as_json_and_the_download_is_audited(app, admin):
    decisions_on_two_days()
    since = (utcnow() - timedelta(days=60)).astimezone(LOCAL_TIME).date().isoformat()
    response = download(admin, since=since, until=today(), format="json")
    document = json.loads(response.get_data(as_text=True))
    assert (document["since"], document["until"]) == (since, today())
    assert len(document["evidence"]) == 4
    [entry] = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "evidence.exported")
    )
    assert entry.details == {"since": since, "until": today(), "format": "json", "count": 4}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"since": "2026-12-05", "until": "2026-12-01", "format": "csv"}, "comes before the first"),
        ({"since": "", "until": "2026-12-01", "format": "csv"}, "Give the first day."),
        ({"since": "2026-12-01", "until": "2026-12-05", "format": "xml"}, "Not a valid choice"),
        ({"since": "yesterday", "until": "2026-12-05", "format": "csv"}, "Not a valid date"),
    ],
)
def test_a_wrong_period_says_why(app, admin, fields, message):
    response = download(admin, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["officer", "researcher"])
def test_only_admins(app, role):
    make_staff(role, email=f"{role}@school.example")
    auth = StaffAuth(open_browser(app))
    auth.login(f"{role}@school.example")
    assert auth.client.get("/staff/evidence").status_code == 403
    assert auth.client.get("/staff/register").status_code == 403


def register_of(runner) -> str:
    result = runner.invoke(args=["register", "--language", "en"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_register_lists_the_purposes_roles_and_retention_of_the_configuration(app, runner):
    text = register_of(runner)
    for purpose in Purpose:
        assert f"**{purpose.label}**" in text
    for role in ("Administrator", "Alumni officer", "Researcher"):
        assert f"**{role}**" in text
    assert "**Graduates who did not answer the invitation**: 60 days" in text
    assert "**Audit log**: 730 days" in text
    assert app.config["ORGANISATION_NAME"] in text and app.config["PRIVACY_CONTACT"] in text


def test_the_register_follows_the_configuration(app, runner):
    app.config.update(
        INVITE_TTL_DAYS=21,
        AUDIT_RETENTION_DAYS=365,
        SMTP_URL="smtp://user:secret@relay.school.example:587",
        ERASURE_KEEP_FIELDS={"graduation_year": "diploma register"},
        STAFF_SECOND_FACTOR_RESEARCHER=False,
    )
    text = register_of(runner)
    assert "answer the invitation**: 21 days" in text and "**Audit log**: 365 days" in text
    assert "relay.school.example" in text and "secret" not in text  # no credentials
    assert "Graduation year: diploma register" in text
    assert "not for researchers" in text


def test_the_register_page_shows_the_same_sections(app, admin, runner):
    page = admin.client.get("/staff/register").get_data(as_text=True)
    sections = re.findall(r'<h2 id="register-\d+">([^<]+)</h2>', page)
    assert sections == re.findall(r"^## (.+)$", register_of(runner), re.M)
    assert len(sections) == 7
