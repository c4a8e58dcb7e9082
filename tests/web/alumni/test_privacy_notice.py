"""The privacy notice where a person decides: whole on the consent form and the preferences
page in their language, on a public page per version, and named by the evidence of the
choice made under it."""

from __future__ import annotations

import sqlalchemy as sa

from alumni.consent import notices
from alumni.extensions import db
from alumni.models import ConsentEvidence
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import FIRST_NOTICE
from tests.support.alumni_pages import submit_choices
from tests.support.factories import answer, make_alumnus


def publish(version: str = "2027-01") -> None:
    notices.publish(
        version,
        text_nl="# Verklaring 2027\n\nWe vragen het je **opnieuw**.\n",
        text_en="# Notice 2027\n\nWe ask you **again**.\n",
        material=True,
        actor="cli",
    )
    db.session.commit()


def test_the_consent_form_shows_the_notice_in_force_in_the_page_language(app, client):
    person = make_alumnus()
    url = "/optin/" + make_token(LinkKind.OPTIN, person)
    dutch = client.get(url).get_data(as_text=True)
    assert 'id="privacy-notice"' in dutch and FIRST_NOTICE in dutch
    assert "Privacyverklaring voor alumni" in dutch
    publish()
    english = client.get(url + "?lang=en").get_data(as_text=True)
    assert "<strong>again</strong>" in english and "2027-01" in english
    assert "Privacyverklaring" not in english


def test_a_choice_names_the_notice_it_was_made_under(app, client):
    person = make_alumnus()
    publish()
    status, _ = submit_choices(
        client, "/optin/" + make_token(LinkKind.OPTIN, person), {Purpose.EVENTS}
    )
    assert status == 200  # the thank-you page
    evidence = db.session.scalars(
        sa.select(ConsentEvidence).where(ConsentEvidence.subject_id == person.subject_id)
    ).all()
    assert {row.notice_version for row in evidence} == {"2027-01"}


def test_the_preferences_page_shows_it_too(app, client):
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    page = client.get("/preferences/" + make_token(LinkKind.PREFERENCES, person))
    assert 'id="privacy-notice"' in page.get_data(as_text=True)


def test_every_recorded_version_has_a_public_page(app, client):
    publish()
    current = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "Notice 2027" in current and "This version is in force." in current
    assert notices.find("2027-01").sha256_en in current
    old = client.get(f"/privacy/{FIRST_NOTICE}?lang=en").get_data(as_text=True)
    assert "Privacy notice for alumni" in old and "A newer version is in force." in old
    assert client.get("/privacy/1999-01").status_code == 404
