"""The opt-out in every email: RFC 8058 one-click POST, and the page with three choices."""

from __future__ import annotations

import time
from unittest import mock

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import AlumnusStatus, ConsentEvidence, ConsentState, EvidenceChannel
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token
from tests.support.factories import answer, make_alumnus


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
    first = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert first.status_code == 200
    assert 'data-outcome="erased"' in first.get_data(as_text=True)
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED
    # A second click after the erasure still answers 200, and says that nothing was left.
    again = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert 'data-outcome="done-before"' in again.get_data(as_text=True)


def test_one_click_says_so_when_nothing_was_left_for_the_purpose(app, person):
    client = app.test_client(use_cookies=False)
    url = unsubscribe_url(person)
    outcomes = [
        client.post(url, data={"List-Unsubscribe": "One-Click"}).get_data(as_text=True)
        for _ in range(2)
    ]
    assert 'data-outcome="purpose"' in outcomes[0]
    assert 'data-outcome="done-before"' in outcomes[1]


def forge(app, alumnus, days_ago: float, *payload) -> str:
    """An opt-out token made with the app's own signer, as if ``days_ago`` days ago."""
    from alumni.people.links import _serializer

    signer = _serializer(LinkKind.UNSUBSCRIBE)
    then = time.time() - days_ago * 86400
    with mock.patch("time.time", return_value=then):
        return signer.dumps([alumnus.subject_id, alumnus.link_version, *payload])


@pytest.mark.parametrize("days", [700, 1000, 3650])
def test_an_old_one_click_still_withdraws(app, person, days):
    token = forge(app, person, days, "events", 1)
    client = app.test_client(use_cookies=False)
    # Past UNSUBSCRIBE_MAX_AGE_DAYS (730) the page asks for a fresh link; the one-click works.
    assert client.get("/unsubscribe/" + token).status_code == (200 if days < 730 else 410)
    response = client.post("/unsubscribe/" + token, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert 'data-outcome="purpose"' in response.get_data(as_text=True)
    assert state(person, Purpose.EVENTS) is ConsentState.WITHDRAWN


def test_the_same_old_token_with_a_tampered_signature_is_refused_and_changes_nothing(app, person):
    token = forge(app, person, 700, "events", 1)
    payload, stamp, signature = token.split(".")
    tampered = f"{payload}.{stamp}.{signature[::-1]}"
    client = app.test_client(use_cookies=False)
    response = client.post("/unsubscribe/" + tampered, data={"List-Unsubscribe": "One-Click"})
    assert 400 <= response.status_code < 500
    assert "data-outcome" not in response.get_data(as_text=True)
    assert state(person, Purpose.EVENTS) is ConsentState.GRANTED


def test_one_click_works_after_the_address_changed(app, person):
    url = unsubscribe_url(person)
    person.link_version += 1  # what a confirmed new address does
    db.session.commit()
    client = app.test_client(use_cookies=False)
    assert client.get(url).status_code == 410  # the old email's page no longer opens
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert state(person, Purpose.EVENTS) is ConsentState.WITHDRAWN


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


@pytest.mark.parametrize("choice", [None, "purpose", "all", "erase"])
def test_the_page_shows_nothing_personal_and_leads_to_no_other_page(app, client, choice):
    from tests.support.privacy import distinctive_alumnus, found_in, personal_values

    alumnus = distinctive_alumnus()
    answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    values = personal_values(alumnus)
    url = unsubscribe_url(alumnus)
    page = client.get(url).get_data(as_text=True)
    if choice is not None:
        data = {"csrf_token": csrf_token(page), "choice": choice}
        page = client.post(url, data=data).get_data(as_text=True)
        assert "data-outcome" in page
    assert found_in(page, values) == []
    assert "/preferences/" not in page and "/my-data/" not in page and "/optin/" not in page


def test_the_page_emails_a_link_to_the_preferences_to_the_address_on_file(
    app, client, person, outbox
):
    url = unsubscribe_url(person)
    page = client.get(url).get_data(as_text=True)
    action = f"{url}/preferences-link"
    assert f'action="{action}"' in page
    response = client.post(action, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200
    answer_page = response.get_data(as_text=True)
    assert "/preferences/" not in answer_page and person.email not in answer_page
    finish_jobs(app)
    assert [message["To"] for message in outbox] == [person.email]
    assert "/preferences/" in outbox[0].get_body(preferencelist=("plain",)).get_content()


def test_asking_for_a_preferences_link_is_rate_limited_per_person(app, person):
    tokens = [
        make_token(LinkKind.UNSUBSCRIBE, person, purpose.value, n)
        for n, purpose in enumerate((Purpose.EVENTS, Purpose.COURSES) * 3)
    ]
    statuses = []
    client = app.test_client()
    for n, token in enumerate(tokens[:5]):
        url = f"/unsubscribe/{token}"
        page = client.get(url).get_data(as_text=True)
        response = client.post(
            f"{url}/preferences-link",
            data={"csrf_token": csrf_token(page)},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"},
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]  # LINK_RATE_LIMIT_PER_ADDRESS, per person


def test_asking_for_a_preferences_link_needs_the_csrf_token_and_a_good_link(app, client, person):
    url = unsubscribe_url(person)
    assert client.post(f"{url}/preferences-link").status_code == 400
    page = client.get(url).get_data(as_text=True)
    tampered = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    response = client.post(f"{tampered}/preferences-link", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 400


def test_an_unsubscribe_link_never_works_as_another_kind(app, client, person):
    token = make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
    assert client.get("/preferences/" + token).status_code == 400
    assert client.get("/unsubscribe/" + make_token(LinkKind.PREFERENCES, person)).status_code == 400
