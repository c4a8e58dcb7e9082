"""I5: a GET changes nothing that is stored (mail scanners fetch every link in a message)."""

from __future__ import annotations

import time

import pytest

from alumni.extensions import db
from alumni.models import AlumnusStatus
from alumni.models.purpose import Purpose
from alumni.people import addresses
from alumni.people.links import LinkKind, make_token
from tests.support.dumps import snapshot
from tests.support.factories import answer, make_alumnus


@pytest.fixture
def people(app):
    invited = make_alumnus(status=AlumnusStatus.INVITED)
    responded = make_alumnus(status=AlumnusStatus.INVITED)
    answer(responded, {Purpose.EVENTS, Purpose.COURSES})
    erased = make_alumnus(status=AlumnusStatus.INVITED)
    erased_token = make_token(LinkKind.PREFERENCES, erased)
    answer(erased, set())  # no to everything: erased
    return invited, responded, erased_token


def alumni_urls(invited, responded, erased_token) -> list[str]:
    urls = []
    for person in (invited, responded):
        for kind, prefix in (
            (LinkKind.OPTIN, "/optin/"),
            (LinkKind.PREFERENCES, "/preferences/"),
            (LinkKind.MY_DATA, "/my-data/"),
        ):
            token = make_token(kind, person)
            urls += [prefix + token, prefix + token + "?lang=en", prefix + token[:-4] + "AAAA"]
    for person in (invited, responded):
        token = make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
        urls += ["/unsubscribe/" + token, "/unsubscribe/" + token[:-4] + "AAAA"]
        token = make_token(LinkKind.DECLINE, person)
        urls += ["/decline/" + token, "/decline/" + token[:-4] + "AAAA"]
    change = addresses.AddressChange(alumnus_id=responded.id, new_email="nieuw@alumni.example")
    db.session.add(change)
    db.session.commit()
    for kind in (LinkKind.CONFIRM_ADDRESS, LinkKind.KEEP_ADDRESS):
        token = make_token(kind, responded, change.id)
        urls += [f"/{kind}/{token}", f"/{kind}/{token}?lang=en", f"/{kind}/{token[:-4]}AAAA"]
    urls += [
        "/preferences/" + erased_token,
        "/healthz",
        "/metrics",
        "/optin/" + make_token(LinkKind.PREFERENCES, invited),  # wrong kind
        "/optin/not-a-token",
        "/",
        "/?lang=en",
        "/link",
        "/link?lang=en",
        "/dev/outbox",
        "/no-such-page",
    ]
    return urls


def test_every_alumni_get_leaves_the_database_unchanged(app, client, people):
    urls = alumni_urls(*people)
    before = snapshot()
    statuses = {url: client.get(url).status_code for url in urls}
    assert snapshot() == before
    assert all(status < 500 for status in statuses.values()), statuses
    # The walk did reach the pages that matter, not only error pages.
    assert sorted(set(statuses.values())) == [200, 303, 400, 404, 410]


def test_an_expired_link_get_changes_nothing(app, client, people, monkeypatch):
    invited, _, _ = people
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, invited)
    before = snapshot()
    later = time.time() + 400 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(url).status_code == 410
    assert snapshot() == before
