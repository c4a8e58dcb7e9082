"""The public front page: what the service is, the way to a fresh link, the privacy contact and
the staff login, in the visitor's language; the same for everyone, with no cookie."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import make_alumnus

DUTCH = "Blijf in contact na je opleiding"
ENGLISH = "Stay in touch after your studies"


@pytest.fixture
def config_overrides():
    return {"ORGANISATION_NAME": "Voorbeeld Vakcollege", "PRIVACY_CONTACT": "fg@vakcollege.example"}


def test_the_front_page_is_dutch_by_default(app, client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="nl">' in page and DUTCH in page and ENGLISH not in page


@pytest.mark.parametrize(
    ("headers", "url"),
    [({"Accept-Language": "en-GB,en;q=0.9"}, "/"), ({"Accept-Language": "nl"}, "/?lang=en")],
)
def test_the_front_page_speaks_english_when_asked(app, client, headers, url):
    page = client.get(url, headers=headers).get_data(as_text=True)
    assert '<html lang="en">' in page and ENGLISH in page and DUTCH not in page
    assert 'href="/?lang=nl"' in page  # and back


def test_the_front_page_says_what_the_service_is_and_leads_on(app, client):
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The alumni office of Voorbeeld Vakcollege asks graduates by email" in page
    assert "withdraw your consent at any time" in page
    assert 'href="/link"' in page
    assert 'href="/staff/login"' in page
    assert '<a href="mailto:fg@vakcollege.example">fg@vakcollege.example</a>' in page
    assert "Demo College" not in page  # the organisation comes from the configuration


def test_the_front_page_sets_no_cookie_and_shows_nothing_personal(app, client):
    person = make_alumnus(first_name="Sanne", last_name="Voorbeeldig", phone="+31698765432")
    response = client.get("/")
    assert "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    for value in (person.email, person.last_name, person.phone):
        assert value not in page


def test_the_front_page_loads_nothing_from_elsewhere_and_fits_a_phone(app, client):
    page = client.get("/").get_data(as_text=True)
    addresses = re.findall(r'(?:href|src|action)="([^"]*)"', page)
    assert addresses and all(a.startswith(("/", "#", "mailto:", "data:")) for a in addresses)
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert page.count("<h1") == 1
