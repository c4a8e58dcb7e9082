"""The data export (access, portability): everything held, and always valid against the JSON
Schema in docs/ that scripts can rely on."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from alumni import erasure
from alumni.models import PERSONAL_FIELDS, EvidenceChannel, SuppressionReason
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import submit_choices
from tests.support.factories import make_alumnus, make_campaign, send_now
from tests.support.paths import ROOT
from tests.support.privacy import distinctive_alumnus

SCHEMA = ROOT / "docs" / "my-data.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def export(client, alumnus) -> dict:
    response = client.get("/my-data/" + make_token(LinkKind.MY_DATA, alumnus))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.data)


def problems(validator, document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_export_holds_everything_and_validates(app, client, validator):
    person = distinctive_alumnus()
    url = "/optin/" + make_token(LinkKind.OPTIN, person)
    assert submit_choices(client, url, {Purpose.EVENTS, Purpose.SURVEYS})[0] == 200
    prefs = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    assert submit_choices(client, prefs, {Purpose.EVENTS}, paused="")[0] == 303
    for purpose in (Purpose.EVENTS, Purpose.EVENTS):
        send_now(app, make_campaign(purpose))

    data = export(client, person)

    assert problems(validator, data) == []
    assert data["personal_data"] == {
        field: (value.isoformat() if hasattr(value, "isoformat") else value)
        for field in PERSONAL_FIELDS
        for value in [getattr(person, field)]
    }
    assert data["pseudonymous_id"] == person.subject_id
    assert {c["purpose"]: c["state"] for c in data["consents"]} == {
        "courses": "withdrawn",
        "vacancies": "withdrawn",
        "events": "granted",
        "research": "withdrawn",
        "surveys": "withdrawn",
    }
    history = [(e["purpose"], e["decision"], e["channel"]) for e in data["consent_history"]]
    assert len(history) == 6 and history[-1] == ("surveys", "withdrawn", "preferences")
    assert data["emails_received"] == 2
    assert data["emails_received_by_purpose"] == {"events": 2}
    assert data["address_changes"] == []


def test_the_export_holds_a_new_address_waiting_for_its_confirmation(app, client, validator):
    person = make_alumnus()
    prefs = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    assert (
        submit_choices(client, "/optin/" + make_token(LinkKind.OPTIN, person), {Purpose.EVENTS})[0]
        == 200
    )
    assert submit_choices(client, prefs, {Purpose.EVENTS}, email="nieuw@alumni.example")[0] == 303
    data = export(client, person)
    assert problems(validator, data) == []
    (change,) = data["address_changes"]
    assert change["new_email"] == "nieuw@alumni.example"
    assert change["old_email"] is None and change["confirmed_at"] is None


def test_the_export_of_someone_who_never_answered_validates(app, client, validator):
    data = export(client, make_alumnus(preferred_name=None, phone=None))
    assert problems(validator, data) == []
    assert data["consents"] == [] and data["emails_received"] == 0
    assert data["responded_at"] is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(student_number="S1234"),  # something held but not described
        lambda d: d.pop("consent_history"),
        lambda d: d["personal_data"].update(gender="f"),
        lambda d: d["consents"].append({"purpose": "lottery", "state": "granted"}),
    ],
    ids=["extra-field", "missing-field", "bad-gender", "bad-consent"],
)
def test_the_schema_refuses_what_it_does_not_describe(app, client, validator, change):
    data = copy.deepcopy(export(client, make_alumnus()))
    change(data)
    assert problems(validator, data) != []


def test_the_export_link_dies_with_the_erasure_request(app, client):
    person = make_alumnus()
    url = "/my-data/" + make_token(LinkKind.MY_DATA, person)
    erasure.request_erasure(
        person, reason=SuppressionReason.ERASED, channel=EvidenceChannel.STAFF, actor="staff:1"
    )
    from alumni.extensions import db

    db.session.commit()
    assert client.get(url).status_code == 410
    finish_jobs(app)
    assert client.get(url).status_code == 410
