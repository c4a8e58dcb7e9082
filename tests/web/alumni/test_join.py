"""``/join``: a graduate who got no email asks with student number, date of birth and an
address. The page answers byte for byte the same whatever matched; only a match gets a
confirmation link, and only its POST opens the consent form."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from alumni.consent.suppression import suppress_address
from alumni.core.pseudonyms import student_key, student_suppression_key
from alumni.extensions import db
from alumni.models import (
    AlumnusStatus,
    JoinRequest,
    JoinRequestStatus,
    Suppression,
    SuppressionReason,
)
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token
from tests.support.dumps import snapshot
from tests.support.factories import make_alumnus

BORN = date(2001, 3, 31)


def graduate(number: str, **fields):
    return make_alumnus(student_key=student_key(number), date_of_birth=BORN, **fields)


def ask(client, student_number: str, born: str, email: str, url: str = "/join", **kwargs):
    token = csrf_token(client.get(url).get_data(as_text=True))
    data = {
        "csrf_token": token,
        "student_number": student_number,
        "date_of_birth": born,
        "email": email,
    }
    return client.post(url, data=data, **kwargs)


def requests_of(status: JoinRequestStatus | None = None) -> list[JoinRequest]:
    db.session.expire_all()
    query = sa.select(JoinRequest).order_by(JoinRequest.id)
    if status is not None:
        query = query.where(JoinRequest.status == status)
    return list(db.session.scalars(query))


def confirmation_path(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://alumni\.test(/confirm-join/\S+)", body).group(1)


def test_the_page_asks_for_the_three_fields_with_labels(app, client):
    page = client.get("/join").get_data(as_text=True)
    for name in ("student_number", "date_of_birth", "email"):
        assert f'name="{name}"' in page
        assert f'<label for="{name}">' in page
    assert 'autocomplete="bday"' in page


def test_match_no_match_and_suppressed_get_byte_identical_answers(app, client, outbox):
    graduate("S100001", email="oud.adres@alumni.example")
    graduate("S100002", email="ander@alumni.example")
    erased_number = "S100003"  # erased long ago: only the keyed hash of the number is left
    db.session.add(
        Suppression(
            key_hash=student_suppression_key(student_key(erased_number)),
            reason=SuppressionReason.ERASED,
        )
    )
    suppress_address("geblokt@alumni.example", SuppressionReason.WITHDRAWN)
    db.session.commit()
    cases = {
        "match": ("S100001", "2001-03-31", "nieuw@alumni.example"),
        "no match": ("S999999", "2001-03-31", "onbekend@alumni.example"),
        "wrong date of birth": ("S100002", "1999-01-01", "poging@alumni.example"),
        "suppressed number": (erased_number, "2001-03-31", "terug@alumni.example"),
        "suppressed address": ("s100002", "31-03-2001", "geblokt@alumni.example"),
    }
    answers = {}
    for case, typed in cases.items():
        response = ask(client, *typed)
        answers[case] = (response.status_code, response.headers.get("Set-Cookie"), response.data)
    assert len(set(answers.values())) == 1, answers.keys()
    assert answers["match"][0] == 200
    finish_jobs(app)
    # Only the match was written to: at the address typed, never the one on file.
    assert [message["To"] for message in outbox] == ["nieuw@alumni.example"]
    waiting = requests_of(JoinRequestStatus.UNMATCHED)
    assert [entry.email for entry in waiting] == [
        "onbekend@alumni.example",
        "poging@alumni.example",
    ]
    # The suppressed ones left nothing behind; the match keeps only the address typed.
    linked = requests_of(JoinRequestStatus.LINKED)
    assert [(entry.email, entry.student_number, entry.date_of_birth) for entry in linked] == [
        ("nieuw@alumni.example", None, None)
    ]
    assert len(requests_of()) == 3


def test_the_link_shows_a_button_and_only_its_post_opens_the_consent_form(app, client, outbox):
    person = graduate("S200001", email="oud.adres@alumni.example", status=AlumnusStatus.IMPORTED)
    ask(client, "S200001", "2001-03-31", "Nieuw.Adres@alumni.example")
    finish_jobs(app)
    (message,) = outbox
    assert message["To"] == "nieuw.adres@alumni.example"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "/optin/" not in body and "/preferences/" not in body  # only after the click
    url = confirmation_path(message)

    before = snapshot()
    shown = client.get(url)
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "nieuw.adres@alumni.example" in page and "<button" in page
    assert snapshot() == before  # I5: the GET changed nothing

    confirmed = client.post(url, data={"csrf_token": csrf_token(page)})
    assert confirmed.status_code == 303
    assert confirmed.location.startswith("/optin/")
    form = client.get(confirmed.location)
    assert form.status_code == 200 and 'name="courses"' in form.get_data(as_text=True)

    db.session.expire_all()
    assert person.email == "nieuw.adres@alumni.example"
    assert person.status is AlumnusStatus.INVITED and person.invitation_sent_at is not None
    assert requests_of() == []
    finish_jobs(app)
    # The old address is told, with the way to undo it, as any address change.
    assert [m["To"] for m in outbox[1:]] == ["oud.adres@alumni.example"]
    assert "/keep-address/" in outbox[1].get_body(preferencelist=("plain",)).get_content()
    # The link worked once.
    assert client.get(url).status_code == 410


def test_a_graduate_who_answered_before_goes_to_the_preferences(app, client, outbox):
    from alumni.models.purpose import Purpose
    from tests.support.factories import answer

    person = graduate("S300001", email="zelfde@alumni.example")
    answer(person, {Purpose.EVENTS})
    ask(client, "S300001", "2001-03-31", "zelfde@alumni.example")
    finish_jobs(app)
    url = confirmation_path(outbox[0])
    token = csrf_token(client.get(url).get_data(as_text=True))
    confirmed = client.post(url, data={"csrf_token": token})
    assert confirmed.location.startswith("/preferences/")
    assert client.get(confirmed.location).status_code == 200
    finish_jobs(app)
    assert len(outbox) == 1  # the same address: no change, nobody else told


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        (("", "2001-03-31", "a@alumni.example"), "student_number", "student number is missing"),
        (("S" * 500, "2001-03-31", "a@alumni.example"), "student_number", "at most 32"),
        (("S1", "", "a@alumni.example"), "date_of_birth", "date of birth is missing"),
        (("S1", "2001-02-31", "a@alumni.example"), "date_of_birth", "2001-03-31 or"),
        (("S1", "gisteren", "a@alumni.example"), "date_of_birth", "2001-03-31 or"),
        (("S1", "2001-03-31", ""), "email", "email address is missing"),
        (("S1", "2001-03-31", "geen-adres"), "email", "not a valid email address"),
    ],
)
def test_bad_input_gets_a_clear_message_on_its_field(app, client, typed, field, message):
    response = ask(client, *typed, url="/join?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert f'aria-describedby="{field}-error"' in page or f'{field}-hint {field}-error"' in page
    assert f'id="{field}-error"' in page
    assert requests_of() == []


def test_rate_limited_per_visitor(app, client):
    statuses = [
        ask(client, f"S40000{n}", "2001-03-31", f"p{n}@alumni.example").status_code
        for n in range(7)
    ]
    assert statuses == [200] * 5 + [429, 429]


def test_rate_limited_per_address_typed_from_any_visitor(app, client):
    statuses = [
        ask(
            client,
            f"S50000{n}",
            "2001-03-31",
            "doelwit@alumni.example",
            environ_base={"REMOTE_ADDR": f"192.0.2.{n}"},
        ).status_code
        for n in range(1, 6)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def test_rate_limited_per_student_number_typed_from_any_visitor(app, client):
    """Guessing the date of birth for one student number costs a try each."""
    statuses = [
        ask(
            client,
            "S600001",
            f"2001-03-{n:02d}",
            f"gok{n}@alumni.example",
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        ).status_code
        for n in range(1, 6)
    ]
    assert statuses == [200, 200, 200, 429, 429]
