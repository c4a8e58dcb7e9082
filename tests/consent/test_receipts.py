"""Consent receipts: after every answer an email in the person's language with each purpose,
the time, the notice's version and link, and the receipt as JSON (Kantara CR 1.1) that the
schema in docs/ accepts and that names nobody; one-click opt-outs at most one an hour; the last
receipt before an erasure."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from jsonschema import Draft202012Validator

from alumni import erasure, mail
from alumni.consent import notices, receipts
from alumni.consent.receipts import ReceiptOutcome
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, EvidenceChannel, SuppressionReason, utcnow
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import FIRST_NOTICE, finish_jobs
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.paths import ROOT
from tests.support.privacy import distinctive_alumnus, found_in, personal_values, scan_log

SCHEMA = ROOT / "docs" / "consent-receipt.schema.json"
GRANTED = {Purpose.EVENTS, Purpose.COURSES, Purpose.SURVEYS}


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def receipt_json(message: EmailMessage) -> dict:
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_filename() == "consent-receipt.json"
    return json.loads(attachment.get_content())


def receipts_to(outbox: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in outbox if m["To"] == address and m.get_content_type() == "multipart/mixed"]


def answer_form(client, person, granted=GRANTED) -> None:
    status, _page = submit_choices(client, "/optin/" + make_token(LinkKind.OPTIN, person), granted)
    assert status == 200


def one_click(client, person, purpose: Purpose) -> None:
    url = "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, purpose.value, 1)
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def problems(validator, document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_consent_form_sends_a_receipt_in_the_persons_language(
    app, client, outbox, validator, language
):
    person = distinctive_alumnus(locale=language)
    answer_form(client, person)
    finish_jobs(app)

    (message,) = receipts_to(outbox, person.email)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    with force_locale(language):
        for purpose in Purpose:
            word = _("yes") if purpose in GRANTED else _("no")
            assert f"- {purpose.label}: {word}" in text
            assert purpose.label in html
        assert _("Time of your answer: %(when)s", when="") in text
    url = f"http://alumni.test/privacy/{FIRST_NOTICE}?lang={language}"
    assert url in text and url in html
    notice = notices.find(FIRST_NOTICE)
    published = hashlib.sha256(notice.text(language).encode("utf-8")).hexdigest()
    assert published in text

    document = receipt_json(message)
    assert problems(validator, document) == []
    assert document["language"] == language
    assert document["policyUrl"] == url
    assert document["noticeVersion"] == FIRST_NOTICE
    assert document["noticeSha256"] == published == notice.sha256(language)
    assert document["piiPrincipalId"] == person.subject_id
    consented = {p["purposeCode"] for p in document["services"][0]["purposes"]}
    assert consented == {p.value for p in GRANTED}
    assert {p["purposeCode"] for p in document["notConsented"]} == {
        p.value for p in set(Purpose) - GRANTED
    }
    assert document["erasureRequested"] is False
    # Nothing of the person but the pseudonym: no name, no address, no other field.
    assert found_in(json.dumps(document, ensure_ascii=False), personal_values(person)) == []
    assert person.display_name.lower() in text.lower()  # the email itself greets them

    db.session.refresh(person)
    assert person.receipt_due_at is None and person.receipt_sent_at is not None


def test_the_preferences_send_a_receipt_of_the_new_choices_and_an_unchanged_save_none(
    app, client, outbox, validator
):
    person = distinctive_alumnus()
    answer_form(client, person)
    finish_jobs(app)
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    status, _page = submit_choices(client, url, {Purpose.RESEARCH})
    assert status == 303  # saved
    finish_jobs(app)
    first, second = receipts_to(outbox, person.email)
    document = receipt_json(second)
    assert problems(validator, document) == []
    assert [p["purposeCode"] for p in document["services"][0]["purposes"]] == ["research"]
    assert document["collectionMethod"].startswith("web form: the preferences page")
    assert receipt_json(first)["consentReceiptID"] != document["consentReceiptID"]

    status, _page = submit_choices(client, url, {Purpose.RESEARCH})  # the same choices again
    assert status == 303
    finish_jobs(app)
    assert len(receipts_to(outbox, person.email)) == 2


def test_one_click_opt_outs_send_at_most_one_receipt_an_hour(app, client, outbox, validator):
    person = distinctive_alumnus()
    answer_form(client, person)
    finish_jobs(app)
    db.session.refresh(person)
    person.receipt_sent_at = utcnow() - timedelta(hours=2)  # the form's receipt, long ago
    db.session.commit()
    outbox.clear()

    one_click(client, person, Purpose.EVENTS)
    finish_jobs(app)
    assert len(receipts_to(outbox, person.email)) == 1  # the first one at once
    one_click(client, person, Purpose.COURSES)
    one_click(client, person, Purpose.COURSES)  # a mail client posting twice
    finish_jobs(app)
    assert receipts.send_due() == 0
    assert len(receipts_to(outbox, person.email)) == 1  # within the hour: none more

    assert receipts.send_due(utcnow() + timedelta(minutes=61)) == 1
    later = receipts_to(outbox, person.email)[-1]
    document = receipt_json(later)
    assert problems(validator, document) == []
    assert [p["purposeCode"] for p in document["services"][0]["purposes"]] == ["surveys"]
    assert document["collectionMethod"].startswith("one-click")
    assert receipts.send_due(utcnow() + timedelta(minutes=62)) == 0  # once


def test_a_receipt_whose_job_was_lost_is_sent_by_the_tick(app, client, outbox, monkeypatch):
    """The marker is in the database: a worker restart or a lost message loses no receipt."""
    runtime = app.extensions["dramatiq"]
    monkeypatch.setattr(runtime, "enqueue", lambda name, *args: None)
    person = distinctive_alumnus()
    answer_form(client, person)
    assert receipts_to(outbox, person.email) == []
    assert receipts.send_due() == 1
    assert len(receipts_to(outbox, person.email)) == 1
    assert receipts.deliver_receipt(person.id) is ReceiptOutcome.NOT_OWED


def test_a_mail_server_that_is_down_keeps_the_receipt_owed(app, client, outbox, monkeypatch):
    runtime = app.extensions["dramatiq"]
    monkeypatch.setattr(runtime, "enqueue", lambda name, *args: None)
    person = distinctive_alumnus()
    answer_form(client, person)

    def down(message):
        raise mail.TemporaryFailure("connection refused")

    monkeypatch.setattr(app.extensions["mail"], "send", down)
    assert receipts.send_due() == 0
    db.session.refresh(person)
    assert person.receipt_due_at is not None
    monkeypatch.undo()
    assert receipts.send_due() == 1


def test_nobody_erased_meanwhile_gets_a_receipt(app, client, outbox):
    person = distinctive_alumnus()
    answer_form(client, person)
    finish_jobs(app)
    one_click(client, person, Purpose.EVENTS)  # within the hour of the form's: put off
    finish_jobs(app)
    db.session.refresh(person)
    assert person.receipt_due_at is not None
    erasure.request_erasure(
        person, reason=SuppressionReason.ERASED, channel=EvidenceChannel.STAFF, actor="staff:1"
    )
    db.session.commit()
    finish_jobs(app)
    count = len(outbox)
    assert receipts.send_due(utcnow() + timedelta(hours=2)) == 0
    assert len(outbox) == count
    db.session.refresh(person)
    assert person.is_erased and person.receipt_due_at is None and person.receipt_sent_at is None


def delete_my_data(client, person) -> None:
    url = "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
    token = csrf_token(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "choice": "erase"}).status_code == 200


def test_delete_my_data_sends_the_last_receipt_before_the_erasure(
    app, client, outbox, validator, monkeypatch
):
    person = distinctive_alumnus()
    answer_form(client, person)
    finish_jobs(app)
    backend = app.extensions["mail"]
    handed_over = backend.send
    status_at_send = []

    def send(message):
        status_at_send.append(db.session.scalar(sa.select(Alumnus.status).filter_by(id=person.id)))
        handed_over(message)

    monkeypatch.setattr(backend, "send", send)
    delete_my_data(client, person)
    finish_jobs(app)

    assert status_at_send == [AlumnusStatus.RESPONDED]  # the data was there when it left
    last = receipts_to(outbox, person.email)[-1]
    document = receipt_json(last)
    assert problems(validator, document) == []
    assert document["erasureRequested"] is True
    assert document["services"][0]["purposes"] == []
    assert len(document["notConsented"]) == len(Purpose)
    text = last.get_body(preferencelist=("plain",)).get_content()
    assert "/preferences/" not in text  # its links died with the request
    assert found_in(json.dumps(document), personal_values(person)) == []
    db.session.expire_all()
    assert db.session.get(Alumnus, person.id).status is AlumnusStatus.ERASED


def test_the_erasure_happens_when_the_last_receipt_cannot_be_sent(
    app, client, outbox, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    person = distinctive_alumnus()
    answer_form(client, person)
    finish_jobs(app)
    values = personal_values(person)

    def down(message):
        raise mail.TemporaryFailure("connection refused")

    monkeypatch.setattr(app.extensions["mail"], "send", down)
    delete_my_data(client, person)
    finish_jobs(app)
    db.session.expire_all()
    person = db.session.get(Alumnus, person.id)
    assert person.status is AlumnusStatus.ERASED and person.receipt_due_at is None
    assert any("last receipt" in record.getMessage() for record in caplog.records)
    assert scan_log(caplog.records, values) == []


def test_declining_the_invitation_sends_no_receipt(app, client, outbox):
    person = distinctive_alumnus()
    url = "/decline/" + make_token(LinkKind.DECLINE, person)
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    finish_jobs(app)
    assert receipts_to(outbox, person.email) == []


@pytest.mark.parametrize(
    "value", ["Schoolstraat 1", "Schoolstraat 1, 1234 AB", "Schoolstraat 1, , Utrecht", ""]
)
def test_a_postal_address_that_is_not_three_parts_stops_the_app(value):
    from alumni.config import parse_postal_address

    with pytest.raises(ValueError, match="ORGANISATION_ADDRESS"):
        parse_postal_address(value)


def test_a_good_postal_address_is_split_into_its_parts():
    from alumni.config import parse_postal_address

    assert parse_postal_address(" Schoolstraat 1 , 3511 AB ,Utrecht") == {
        "streetAddress": "Schoolstraat 1",
        "postalCode": "3511 AB",
        "addressLocality": "Utrecht",
        "addressCountry": "NL",
    }
