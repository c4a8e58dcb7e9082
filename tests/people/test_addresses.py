"""A new email address is the person's only once its owner confirms it; the old address is
told and may undo it; the page says the same whatever the address typed."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from unittest import mock

import pytest
import sqlalchemy as sa

from alumni.consent.suppression import suppress_address
from alumni.extensions import db
from alumni.models import AddressChange, AuditEntry, SuppressionReason, utcnow
from alumni.models.purpose import Purpose
from alumni.people import addresses, retention
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.factories import answer, make_alumnus

NEW = "nieuw.adres@alumni.example"


@pytest.fixture
def person(app):
    alumnus = make_alumnus(email="oud.adres@alumni.example", locale="nl")
    answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    return alumnus


def preferences_url(alumnus) -> str:
    return "/preferences/" + make_token(LinkKind.PREFERENCES, alumnus)


def ask_for(client, alumnus, address: str):
    """The preferences form sent with a new address and the rest unchanged."""
    return submit_choices(
        client, preferences_url(alumnus), {Purpose.EVENTS, Purpose.COURSES}, email=address
    )


def link_in(message, kind: LinkKind) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://alumni\.test(/{kind.value}/\S+)", text).group(1)


def mails_to(outbox, address: str) -> list:
    return [message for message in outbox if message["To"] == address]


def confirm(client, url: str):
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page)})


# -- asking ------------------------------------------------------------------------------------


def test_nothing_changes_until_the_new_address_confirms(app, client, person, outbox):
    status, _ = ask_for(client, person, NEW)
    assert status == 303
    db.session.expire_all()
    assert person.email == "oud.adres@alumni.example"  # not stored as theirs
    assert person.link_version == 1  # their links still work
    finish_jobs(app)
    (message,) = outbox
    assert message["To"] == NEW
    url = link_in(message, LinkKind.CONFIRM_ADDRESS)
    # The confirmation names nobody: whoever reads it may not be the person.
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert person.first_name not in text and person.last_name not in text
    page = client.get(url)
    assert page.status_code == 200 and NEW in page.get_data(as_text=True)
    db.session.expire_all()
    assert person.email == "oud.adres@alumni.example"  # the GET changed nothing (I5)
    assert confirm(client, url).status_code == 200
    db.session.expire_all()
    assert person.email == NEW


def test_until_confirmed_every_email_goes_to_the_old_address(app, client, person, outbox):
    from tests.support.factories import make_campaign, send_now

    ask_for(client, person, NEW)
    finish_jobs(app)
    outbox.clear()
    send_now(app, make_campaign(Purpose.EVENTS))
    assert [message["To"] for message in outbox] == ["oud.adres@alumni.example"]


def test_the_answer_is_the_same_for_a_free_a_taken_and_a_suppressed_address(
    app, client, person, outbox
):
    make_alumnus(email="bezet@alumni.example")
    suppress_address("weg@alumni.example", SuppressionReason.WITHDRAWN)
    db.session.commit()
    url = preferences_url(person)
    page = client.get(url).get_data(as_text=True)
    answers = []
    with mock.patch("time.time", return_value=time.time()):  # one second for all three
        for address in ("vrij@alumni.example", "bezet@alumni.example", "weg@alumni.example"):
            data = {
                "csrf_token": csrf_token(page),
                "action": "save",
                "language": "nl",
                "email": address,
                **{field: str(getattr(person, field) or "") for field in FIELDS},
                "gender": person.gender.value,
                **{
                    p.value: "yes" if p in (Purpose.EVENTS, Purpose.COURSES) else "no"
                    for p in Purpose
                },
            }
            response = client.post(url, data=data)
            answers.append((response.status_code, response.headers.get("Location"), response.data))
            answers[-1] += (client.get(response.headers["Location"]).data,)
    assert answers[0] == answers[1] == answers[2]
    finish_jobs(app)
    # Behind the same answer: a confirmation to the free one, an explanation to the taken one,
    # nothing to the suppressed one.
    assert link_in(mails_to(outbox, "vrij@alumni.example")[0], LinkKind.CONFIRM_ADDRESS)
    (taken,) = mails_to(outbox, "bezet@alumni.example")
    assert "/confirm-address/" not in taken.get_body(preferencelist=("plain",)).get_content()
    assert mails_to(outbox, "weg@alumni.example") == []
    db.session.expire_all()
    assert person.email == "oud.adres@alumni.example"


FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "phone",
    "date_of_birth",
    "programme",
    "graduation_year",
)


def test_the_consent_form_asks_the_new_address_too(app, client, outbox):
    alumnus = make_alumnus(email="eerst@alumni.example")
    url = "/optin/" + make_token(LinkKind.OPTIN, alumnus)
    status, page = submit_choices(client, url, {Purpose.EVENTS}, email=NEW)
    assert status == 200
    assert "/preferences/" in page  # the answer is saved, with a way onward
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.email == "eerst@alumni.example" and alumnus.has_responded
    # The confirmation to the new address; the answer's receipt to the old one, still theirs.
    assert sorted(message["To"] for message in outbox) == ["eerst@alumni.example", NEW]


def test_asking_is_rate_limited_per_person(app, client, person, outbox):
    statuses = [ask_for(client, person, f"poging{n}@alumni.example")[0] for n in range(5)]
    assert statuses == [303, 303, 303, 429, 429]
    finish_jobs(app)
    assert len(outbox) == 3
    # Saving without a new address is not counted.
    assert submit_choices(client, preferences_url(person), {Purpose.EVENTS})[0] == 303


# -- confirming ---------------------------------------------------------------------------------


@pytest.fixture
def confirmation(app, client, person, outbox) -> str:
    ask_for(client, person, NEW)
    finish_jobs(app)
    (message,) = mails_to(outbox, NEW)
    outbox.clear()
    return link_in(message, LinkKind.CONFIRM_ADDRESS)


def test_confirming_ends_old_links_tells_the_old_address_and_sends_a_fresh_one(
    app, client, person, confirmation, outbox
):
    old_preferences = preferences_url(person)
    response = confirm(client, confirmation)
    assert response.status_code == 200
    assert "/preferences/" not in response.get_data(as_text=True)  # it hands none out
    assert client.get(old_preferences).status_code == 410
    finish_jobs(app)
    (notice,) = mails_to(outbox, "oud.adres@alumni.example")
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert "/keep-address/" in text and NEW not in text
    assert re.search(r"\d{1,2}:\d{2}", text)  # the time of the change
    assert "Hallo" in text  # in the person's language (Dutch)
    (fresh,) = mails_to(outbox, NEW)
    assert "/preferences/" in fresh.get_body(preferencelist=("plain",)).get_content()
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"address.change_requested", "address.changed"} <= actions


def test_a_confirmation_link_works_once(app, client, person, confirmation):
    assert confirm(client, confirmation).status_code == 200
    assert client.get(confirmation).status_code == 410


def test_a_confirmation_link_lasts_a_day(app, client, person, confirmation, monkeypatch):
    later = time.time() + 25 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(confirmation).status_code == 410
    db.session.expire_all()
    assert person.email == "oud.adres@alumni.example"


def test_another_confirmed_change_ends_a_waiting_one(app, client, person, outbox):
    ask_for(client, person, "eerste@alumni.example")
    ask_for(client, person, "tweede@alumni.example")
    finish_jobs(app)
    first = link_in(mails_to(outbox, "eerste@alumni.example")[0], LinkKind.CONFIRM_ADDRESS)
    second = link_in(mails_to(outbox, "tweede@alumni.example")[0], LinkKind.CONFIRM_ADDRESS)
    assert confirm(client, second).status_code == 200
    assert client.get(first).status_code == 410
    db.session.expire_all()
    assert person.email == "tweede@alumni.example"


def test_an_address_taken_in_the_meantime_is_not_confirmed(app, client, person, confirmation):
    make_alumnus(email=NEW)
    response = confirm(client, confirmation)
    assert response.status_code == 409
    db.session.expire_all()
    assert person.email == "oud.adres@alumni.example" and person.link_version == 1


def test_a_preferences_link_does_not_confirm_an_address(app, client, person, confirmation):
    token = confirmation.rpartition("/")[2]
    assert client.get("/preferences/" + token).status_code == 400
    assert (
        client.get("/confirm-address/" + make_token(LinkKind.PREFERENCES, person)).status_code
        == 400
    )


# -- undoing ----------------------------------------------------------------------------------


@pytest.fixture
def undo(app, client, person, confirmation, outbox) -> str:
    confirm(client, confirmation)
    finish_jobs(app)
    (notice,) = mails_to(outbox, "oud.adres@alumni.example")
    outbox.clear()
    return link_in(notice, LinkKind.KEEP_ADDRESS)


def test_the_old_address_keeps_itself_with_the_undo_link(app, client, person, undo, outbox):
    after_change = preferences_url(person)
    page = client.get(undo)
    assert page.status_code == 200
    assert "oud.adres@alumni.example" in page.get_data(as_text=True)
    assert NEW not in page.get_data(as_text=True)
    db.session.expire_all()
    assert person.email == NEW  # the GET changed nothing
    assert confirm(client, undo).status_code == 200
    db.session.expire_all()
    assert person.email == "oud.adres@alumni.example"
    assert client.get(after_change).status_code == 410  # links sent to the new address die
    assert client.get(undo).status_code == 410  # once
    finish_jobs(app)
    assert [message["To"] for message in outbox] == ["oud.adres@alumni.example"]


def test_the_undo_link_lasts_a_week(app, client, person, undo, monkeypatch):
    later = time.time() + 8 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(undo).status_code == 410


# -- what is kept ------------------------------------------------------------------------------


def test_erasure_takes_the_typed_and_the_old_addresses_with_it(
    app, client, person, confirmation, outbox
):
    """I6: after a confirmed change and another one waiting, nothing of any address is left."""
    from alumni.consent.answers import withdraw_entirely
    from alumni.models import EvidenceChannel
    from tests.support.privacy import scan_database

    confirm(client, confirmation)
    finish_jobs(app)
    ask_for(client, person, "nog.een@alumni.example")
    finish_jobs(app)
    withdraw_entirely(person, EvidenceChannel.PREFERENCES)
    db.session.commit()
    finish_jobs(app)
    addresses_typed = ["oud.adres@alumni.example", NEW, "nog.een@alumni.example"]
    assert scan_database(addresses_typed) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AddressChange)) == 0


def test_a_confirmation_is_not_sent_for_someone_withdrawing(
    app, client, person, outbox, monkeypatch
):
    from alumni.consent.answers import withdraw_entirely
    from alumni.models import EvidenceChannel

    monkeypatch.setattr(app.extensions["dramatiq"], "enqueue", lambda name, *args: None)
    ask_for(client, person, NEW)
    change_id = db.session.scalar(sa.select(AddressChange.id))
    withdraw_entirely(person, EvidenceChannel.PREFERENCES)
    db.session.commit()
    assert addresses.deliver_confirmation(change_id) == "gone"
    assert outbox == []


def test_retention_forgets_requests_whose_links_have_expired(app, client, person):
    ask_for(client, person, NEW)
    now = utcnow()
    assert retention.run(now + timedelta(hours=23)).address_changes_deleted == 0
    assert retention.run(now + timedelta(hours=25)).address_changes_deleted == 1


def test_a_person_whose_mailbox_died_can_still_move_to_a_new_one(app, client, person, outbox):
    suppress_address(person.email, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    ask_for(client, person, NEW)
    finish_jobs(app)
    assert [message["To"] for message in outbox] == [NEW]
