"""docs/links.md, cell by cell: each kind of link opens its own pages only, shows only what it
may, and hands out only the links it may (I8). One test per cell that could be wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import AddressChange, AlumnusStatus, JoinRequest, JoinRequestStatus, utcnow
from alumni.models.purpose import Purpose
from alumni.people import addresses
from alumni.people.links import CAPABILITIES, Link, LinkKind, make_token
from tests.support.alumni_pages import csrf_token
from tests.support.dumps import snapshot
from tests.support.factories import answer
from tests.support.privacy import distinctive_alumnus, found_in, personal_values

# Every page reached by a link: its path, and the methods it answers.
PAGES = {
    "alumni.optin": ("/optin/{}", ("GET", "POST")),
    "alumni.preferences": ("/preferences/{}", ("GET", "POST")),
    "alumni.my_data": ("/my-data/{}", ("GET",)),
    "alumni.unsubscribe": ("/unsubscribe/{}", ("GET", "POST", "ONE-CLICK")),
    "alumni.unsubscribe_preferences_link": ("/unsubscribe/{}/preferences-link", ("POST",)),
    "alumni.decline": ("/decline/{}", ("GET", "POST", "ONE-CLICK")),
    "alumni.confirm_address": ("/confirm-address/{}", ("GET", "POST")),
    "alumni.keep_address": ("/keep-address/{}", ("GET", "POST")),
    "alumni.confirm_join": ("/confirm-join/{}", ("GET", "POST")),
    "alumni.renewal": ("/renewal/{}", ("GET", "POST")),
}
OWN_PAGE = {kind: rule.pages[0] for kind, rule in CAPABILITIES.items()}


def test_the_table_here_names_every_page():
    assert set(PAGES) == {page for rule in CAPABILITIES.values() for page in rule.pages}


def valid_link(kind: LinkKind) -> tuple[Any, str]:
    """A person with every personal value unmistakable, and a working link of ``kind``."""
    alumnus = distinctive_alumnus(status=AlumnusStatus.INVITED)
    if kind is not LinkKind.OPTIN:
        answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    extra: tuple[object, ...] = ()
    if kind is LinkKind.UNSUBSCRIBE:
        extra = (Purpose.EVENTS.value, 1)
    elif kind in (LinkKind.CONFIRM_ADDRESS, LinkKind.KEEP_ADDRESS):
        addresses.request_change(alumnus, f"nieuw.{alumnus.id}@alumni.example")
        db.session.flush()
        change = db.session.scalars(
            sa.select(AddressChange).where(AddressChange.alumnus_id == alumnus.id)
        ).one()
        if kind is LinkKind.KEEP_ADDRESS:
            link = Link(kind, alumnus, alumnus.link_version, (change.id,))
            assert addresses.confirm_change(link, change)
        extra = (change.id,)
        db.session.commit()
    elif kind is LinkKind.JOIN:
        request = JoinRequest(
            status=JoinRequestStatus.LINKED,
            email=f"gevraagd.{alumnus.id}@alumni.example",
            alumnus_id=alumnus.id,
            linked_at=utcnow(),
        )
        db.session.add(request)
        db.session.commit()
        extra = (request.id,)
    return alumnus, make_token(kind, alumnus, *extra)


CELLS = [
    (kind, page, method)
    for kind in LinkKind
    for page, (_, methods) in PAGES.items()
    if page not in CAPABILITIES[kind].pages
    for method in methods
]


@pytest.mark.parametrize(("kind", "page", "method"), CELLS)
def test_a_link_is_refused_on_every_page_not_made_for_it(app, client, kind, page, method):
    _, token = valid_link(kind)
    form_token = csrf_token(client.get("/link").get_data(as_text=True))
    url = PAGES[page][0].format(token)
    before = snapshot()
    if method == "GET":
        response = client.get(url)
    elif method == "POST":
        data = {"csrf_token": form_token, "choice": "erase", "action": "withdraw", "confirm": "y"}
        response = client.post(url, data=data)
    else:
        response = app.test_client(use_cookies=False).post(
            url, data={"List-Unsubscribe": "One-Click"}
        )
    assert response.status_code == 400
    assert 'href="/link"' in response.get_data(as_text=True)  # the friendly page, a way out
    assert snapshot() == before


# What each kind's own page may show of the person: everything, or nothing at all.
SHOWS_THE_PERSON = {LinkKind.OPTIN, LinkKind.PREFERENCES, LinkKind.MY_DATA}


@pytest.mark.parametrize("kind", list(LinkKind))
def test_what_each_page_shows_of_the_person(app, client, kind):
    alumnus, token = valid_link(kind)
    db.session.expire_all()
    values = personal_values(alumnus)
    page = client.get(PAGES[OWN_PAGE[kind]][0].format(token))
    assert page.status_code == 200
    shown = found_in(page.get_data(as_text=True), values)
    if kind in SHOWS_THE_PERSON:
        assert alumnus.email in shown and alumnus.last_name.lower() in shown
    else:
        assert shown == []


LINK_PATH = re.compile(r'(?:href|action)="/(' + "|".join(k.value for k in LinkKind) + r")/")


@pytest.mark.parametrize("kind", list(LinkKind))
def test_each_page_hands_out_only_the_links_its_kind_may(app, client, kind):
    _, token = valid_link(kind)
    response = client.get(PAGES[OWN_PAGE[kind]][0].format(token))
    onward = {LinkKind(found) for found in LINK_PATH.findall(response.get_data(as_text=True))}
    assert onward <= CAPABILITIES[kind].hands_out | {kind}


def test_a_page_cannot_hand_out_what_its_link_may_not(app):
    """The check behind the last test: a view that tried would fail, not leak."""
    from flask import g

    from alumni.web.alumni.access import NotHandedOut, onward_url

    alumnus, _ = valid_link(LinkKind.UNSUBSCRIBE)
    with app.test_request_context("/"):
        g.link = Link(LinkKind.UNSUBSCRIBE, alumnus, alumnus.link_version, ("events", 1))
        for kind in (LinkKind.PREFERENCES, LinkKind.MY_DATA, LinkKind.OPTIN):
            with pytest.raises(NotHandedOut):
                onward_url(kind)
        g.link = Link(LinkKind.OPTIN, alumnus, alumnus.link_version)
        assert onward_url(LinkKind.PREFERENCES).startswith("/preferences/")
