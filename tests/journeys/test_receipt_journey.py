"""The acceptance journey of consent receipts, through a real SMTP server on loopback: answer
the consent form, receive the receipt; its JSON validates against the schema in docs/, and its
digest of the notice is the SHA-256 of the text the public page publishes."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from jsonschema import Draft202012Validator

from alumni.consent import notices
from alumni.models import AlumnusStatus
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import submit_choices
from tests.support.paths import ROOT
from tests.support.privacy import distinctive_alumnus, found_in, personal_values

GRANTED = {Purpose.EVENTS, Purpose.RESEARCH}


@pytest.fixture
def config_overrides(smtp_server):
    return {"MAIL_BACKEND": None, "SMTP_URL": smtp_server.url}


def test_answer_the_form_and_receive_the_receipt(app, client, smtp_server):
    person = distinctive_alumnus(status=AlumnusStatus.INVITED, locale="en")
    status, _page = submit_choices(client, "/optin/" + make_token(LinkKind.OPTIN, person), GRANTED)
    assert status == 200
    finish_jobs(app)

    (message,) = smtp_server.messages
    assert smtp_server.recipients() == [person.email]
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",)).get_content()
    for purpose in Purpose:
        assert f"- {purpose.label}: {'yes' if purpose in GRANTED else 'no'}" in text
    (attachment,) = list(message.iter_attachments())
    document = json.loads(attachment.get_content())

    schema = json.loads((ROOT / "docs" / "consent-receipt.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(document)) == []
    assert found_in(json.dumps(document), personal_values(person)) == []
    assert document["piiPrincipalId"] == person.subject_id

    # The link in the email and the receipt opens the published text; its digest matches.
    assert document["policyUrl"] in text
    path = re.sub(r"^http://alumni\.test", "", document["policyUrl"])
    page = client.get(path)
    assert page.status_code == 200
    notice = notices.find(document["noticeVersion"])
    published = notice.text("en")
    assert hashlib.sha256(published.encode("utf-8")).hexdigest() == document["noticeSha256"]
    first_line = published.splitlines()[0].lstrip("# ").strip()
    assert first_line in page.get_data(as_text=True)
