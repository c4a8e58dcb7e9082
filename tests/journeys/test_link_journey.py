"""Links as capabilities, through a real SMTP server on loopback: a campaign email's opt-out
opens a page that shows nothing of the person and leads nowhere else, and sends a link to the
preferences to the address on file instead; an address changes only when the new address
confirms it, the old one is told and can undo it, and the one-click of an email sent before
the change still withdraws."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, ConsentState
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import SMTPSink, finish_jobs
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.factories import answer, make_campaign, send_now
from tests.support.privacy import distinctive_alumnus, found_in, personal_values

BASE = "http://alumni.test"
NEW = "ander.adres@alumni.example"


@pytest.fixture
def config_overrides(smtp_server):
    return {"MAIL_BACKEND": None, "SMTP_URL": smtp_server.url}


def mail_to(sink: SMTPSink, address: str, *, index: int = -1):
    messages = [message for message in sink.messages if message["To"] == address]
    assert messages, f"no mail to {address}: {[m['To'] for m in sink.messages]}"
    return messages[index]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, kind: LinkKind) -> str:
    return re.search(rf"{BASE}(/{kind.value}/\S+)", text_of(message)).group(1)


def opt_out_of(message) -> str:
    """The https address of List-Unsubscribe, as a path; the visible link is the same."""
    https = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))[0]
    path = https.removeprefix(BASE)
    assert path in text_of(message)
    return path


def shows_nothing_more(page: str, person: Alumnus, values: list[str]) -> None:
    assert found_in(page, values) == [], "the opt-out page shows personal data"
    for elsewhere in ("/preferences/", "/my-data/", "/optin/"):
        assert elsewhere not in page, f"the opt-out page leads to {elsewhere}"


@pytest.mark.parametrize("choice", ["purpose", "all", "erase"])
def test_a_campaign_opt_out_opens_the_opt_out_and_nothing_else(app, client, smtp_server, choice):
    person = distinctive_alumnus()
    answer(person, {Purpose.EVENTS, Purpose.COURSES})
    values = personal_values(person)
    send_now(app, make_campaign(Purpose.EVENTS))
    url = opt_out_of(mail_to(smtp_server, person.email))

    page = client.get(url).get_data(as_text=True)
    shows_nothing_more(page, person, values)
    after = client.post(url, data={"csrf_token": csrf_token(page), "choice": choice})
    assert after.status_code == 200
    shows_nothing_more(after.get_data(as_text=True), person, values)

    if choice != "erase":
        # Instead of a link on the page: one by email, to the address we hold.
        asked = client.post(f"{url}/preferences-link", data={"csrf_token": csrf_token(page)})
        assert asked.status_code == 200
        shows_nothing_more(asked.get_data(as_text=True), person, values)
        finish_jobs(app)
        preferences = link_in(mail_to(smtp_server, person.email), LinkKind.PREFERENCES)
        assert client.get(preferences).status_code == 200


def test_an_address_change_waits_for_the_new_address_and_the_old_one_can_undo_it(
    app, client, smtp_server
):
    person = distinctive_alumnus(locale="en")
    old = person.email
    answer(person, {Purpose.EVENTS, Purpose.COURSES})
    send_now(app, make_campaign(Purpose.EVENTS))
    before_the_change = opt_out_of(mail_to(smtp_server, old))

    preferences = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    status, _ = submit_choices(
        client, preferences, {Purpose.EVENTS, Purpose.COURSES}, email=NEW, language="en"
    )
    assert status == 303
    finish_jobs(app)
    db.session.expire_all()
    assert person.email == old  # nothing stored yet
    confirmation = link_in(mail_to(smtp_server, NEW), LinkKind.CONFIRM_ADDRESS)
    page = client.get(confirmation).get_data(as_text=True)
    db.session.expire_all()
    assert person.email == old  # nor by opening the link
    assert client.post(confirmation, data={"csrf_token": csrf_token(page)}).status_code == 200
    finish_jobs(app)
    db.session.expire_all()
    assert person.email == NEW

    notice = mail_to(smtp_server, old)
    assert "changed" in notice["Subject"]  # in the person's language: English
    undo = link_in(notice, LinkKind.KEEP_ADDRESS)
    fresh = link_in(mail_to(smtp_server, NEW), LinkKind.PREFERENCES)
    assert client.get(fresh).status_code == 200

    # The one-click of the newsletter sent to the old address, before the change, still works.
    mail_client = app.test_client(use_cookies=False)
    response = mail_client.post(before_the_change, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    events = next(c for c in person.consents if c.purpose is Purpose.EVENTS)
    assert events.state is ConsentState.WITHDRAWN

    # The old address keeps itself.
    page = client.get(undo).get_data(as_text=True)
    assert client.post(undo, data={"csrf_token": csrf_token(page)}).status_code == 200
    db.session.expire_all()
    assert person.email == old
    assert client.get(fresh).status_code == 410  # the link sent to the new address died
    finish_jobs(app)
    assert link_in(mail_to(smtp_server, old), LinkKind.PREFERENCES)
    kept = db.session.scalar(sa.select(Alumnus.email).where(Alumnus.id == person.id))
    assert kept == old
