"""The opt-out in every email: RFC 8058 one-click POST, and the page with three choices."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.links import LinkKind, make_token
from alumni.models import AlumnusStatus, ConsentEvidence, ConsentState, EvidenceChannel
from alumni.purposes import Purpose
from tests.alumni_helpers import csrf_token
from tests.conftest import finish_jobs
from tests.factories import answer, make_alumnus


def unsubscribe_url(alumnus, purpose=Purpose.EVENTS, campaign_id=1) -> str:
    return "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, alumnus, purpose.value, campaign_id)


def state(alumnus, purpose):
    db.session.expire_all()
    return {c.purpose: c.state for c in alumnus.consents}.get(purpose)


@pytest.fixture
def person(app):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    return alumnus


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_one_click_withdraws_the_purpose_without_cookie_or_csrf(app, person, encoding):
    client = app.test_client(use_cookies=False)
    url = unsubscribe_url(person)
    if encoding == "form":
        response = client.post(
            url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post(
            url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
        )
    assert response.status_code == 200
    assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    assert state(person, Purpose.EVENTS) is ConsentState.WITHDRAWN
    assert state(person, Purpose.COURSES) is ConsentState.GRANTED
    channels = db.session.scalars(
        sa.select(ConsentEvidence.channel).where(
            ConsentEvidence.subject_id == person.subject_id,
            ConsentEvidence.purpose == Purpose.EVENTS,
            ConsentEvidence.decision == ConsentState.WITHDRAWN,
        )
    ).all()
    assert channels == [EvidenceChannel.ONE_CLICK]


def test_one_click_is_idempotent(app, person):
    client = app.test_client(use_cookies=False)
    url = unsubscribe_url(person)
    for _ in range(3):
        assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert state(person, Purpose.EVENTS) is ConsentState.WITHDRAWN


def test_one_click_for_the_last_purpose_erases_and_stays_200(app):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS})
    client = app.test_client(use_cookies=False)
    url = unsubscribe_url(alumnus)
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED
    # A second click after the erasure still answers 200: nothing left to do.
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_a_tampered_one_click_is_refused(app, person):
    client = app.test_client(use_cookies=False)
    response = client.post(
        unsubscribe_url(person)[:-3] + "abc", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 400
    assert state(person, Purpose.EVENTS) is ConsentState.GRANTED


def test_the_page_shows_three_choices_and_changes_nothing(app, client, person):
    page = client.get(unsubscribe_url(person)).get_data(as_text=True)
    for value in ("purpose", "all", "erase"):
        assert f'value="{value}"' in page
    assert "checked" not in page
    assert state(person, Purpose.EVENTS) is ConsentState.GRANTED


def test_the_page_form_needs_csrf(app, client, person):
    response = client.post(unsubscribe_url(person), data={"choice": "erase"})
    assert response.status_code == 400
    db.session.expire_all()
    assert person.status is AlumnusStatus.RESPONDED


@pytest.mark.parametrize(
    ("choice", "events", "status", "paused"),
    [
        ("purpose", ConsentState.WITHDRAWN, AlumnusStatus.RESPONDED, False),
        ("all", ConsentState.GRANTED, AlumnusStatus.RESPONDED, True),
        ("erase", None, AlumnusStatus.ERASED, False),
    ],
)
def test_each_choice_of_the_page(app, client, person, choice, events, status, paused):
    url = unsubscribe_url(person)
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "choice": choice})
    assert response.status_code == 200
    finish_jobs(app)
    assert state(person, Purpose.EVENTS) is events
    assert person.status is status
    assert (person.paused_at is not None) is paused


def test_an_unsubscribe_link_never_works_as_another_kind(app, client, person):
    token = make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
    assert client.get("/preferences/" + token).status_code == 400
    assert client.get("/unsubscribe/" + make_token(LinkKind.PREFERENCES, person)).status_code == 400
