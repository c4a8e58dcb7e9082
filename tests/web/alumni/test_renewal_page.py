"""The renewal page: its GET changes nothing (mail scanners open every link, I5); its one
button renews every consent given under the notice in force, with evidence, and is a change of
nothing else."""

from __future__ import annotations

import time
from unittest import mock

import sqlalchemy as sa

from alumni.consent import notices
from alumni.extensions import db
from alumni.models import Consent, ConsentEvidence, ConsentState, EvidenceChannel
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.support.alumni_pages import csrf_token
from tests.support.dumps import snapshot
from tests.support.factories import answer, make_alumnus


def consenting_person_and_new_notice():
    person = make_alumnus()
    answer(person, {Purpose.EVENTS, Purpose.COURSES})
    notices.publish("2027-01", text_nl="# Nieuw\n", text_en="# New\n", material=True, actor="cli")
    db.session.commit()
    return person, f"/renewal/{make_token(LinkKind.RENEWAL, person)}"


def test_the_page_shows_the_choices_and_the_new_notice_and_changes_nothing(app, client):
    _, url = consenting_person_and_new_notice()
    before = snapshot()
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/privacy/2027-01"' in html
    assert 'href="/preferences/' in html  # "change my choices"
    assert snapshot() == before


def test_keep_renews_every_consent_given_under_the_notice_in_force(app, client):
    person, url = consenting_person_and_new_notice()
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 200

    db.session.expire_all()
    consents = db.session.scalars(sa.select(Consent).where(Consent.alumnus_id == person.id)).all()
    granted = {c.purpose: c for c in consents if c.state is ConsentState.GRANTED}
    assert set(granted) == {Purpose.EVENTS, Purpose.COURSES}
    assert {c.notice_version for c in granted.values()} == {"2027-01"}
    renewals = db.session.scalars(
        sa.select(ConsentEvidence).where(
            ConsentEvidence.subject_id == person.subject_id,
            ConsentEvidence.channel == EvidenceChannel.RENEWAL,
        )
    ).all()
    assert {(e.purpose, e.decision, e.notice_version) for e in renewals} == {
        (Purpose.EVENTS, ConsentState.GRANTED, "2027-01"),
        (Purpose.COURSES, ConsentState.GRANTED, "2027-01"),
    }
    # A "no" stays a no, with no evidence of a renewal.
    refused = {c.purpose for c in consents if c.state is ConsentState.WITHDRAWN}
    assert refused == set(Purpose) - {Purpose.EVENTS, Purpose.COURSES}


def test_keep_without_the_form_token_changes_nothing(app, client):
    _, url = consenting_person_and_new_notice()
    before = snapshot()
    response = client.post(url, data={})
    assert response.status_code == 400  # refused: no form token
    assert snapshot() == before


def test_the_link_refuses_to_open_once_the_grace_period_is_over(app, client):
    _, url = consenting_person_and_new_notice()
    after_grace = time.time() + (app.config["RENEWAL_GRACE_DAYS"] + 1) * 86400
    with mock.patch("time.time", return_value=after_grace):
        response = client.get(url)
    assert response.status_code == 410
