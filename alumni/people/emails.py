"""The emails to a person about their record: the invitation, a fresh link, the three of an
address change, and the confirmation of a request to join. Each is a function that returns
its content (``alumni.mail.compose``)."""

from __future__ import annotations

from datetime import timedelta

from babel import dates as babel_dates
from flask import current_app

from alumni.mail import Email
from alumni.mail.compose import one_click_headers, render_email
from alumni.models import LOCAL_TIME, AddressChange, Alumnus, JoinRequest
from alumni.models.purpose import Purpose
from alumni.people.links import CAPABILITIES, LinkKind, link_url, link_url_for_token, make_token


def invitation(alumnus: Alumnus) -> Email:
    """The invitation to the consent form: names the five purposes, carries the opt-in link
    and the one-click "do not contact me"."""
    decline_token = make_token(LinkKind.DECLINE, alumnus)
    decline_url = link_url_for_token(LinkKind.DECLINE, decline_token)
    return render_email(
        "invitation",
        to=alumnus.email or "",
        locale=alumnus.locale,
        headers=one_click_headers(decline_url, decline_token),
        name=alumnus.display_name,
        purposes=list(Purpose),
        optin_url=link_url(LinkKind.OPTIN, alumnus),
        decline_url=decline_url,
        link_days=current_app.config["LINK_MAX_AGE_DAYS"],
    )


def fresh_link(alumnus: Alumnus) -> Email:
    """Asked for at /link: the consent form if not answered yet, else the preferences."""
    kind = LinkKind.PREFERENCES if alumnus.has_responded else LinkKind.OPTIN
    return render_email(
        "fresh_link",
        to=alumnus.email or "",
        locale=alumnus.locale,
        name=alumnus.display_name,
        answered=alumnus.has_responded,
        url=link_url(kind, alumnus),
        link_days=current_app.config["LINK_MAX_AGE_DAYS"],
    )


def address_confirmation(alumnus: Alumnus, change: AddressChange) -> Email:
    """To a new address: confirm that it is yours. Names nobody: whoever reads it may not be
    the person who typed it."""
    return render_email(
        "address_confirmation",
        to=change.new_email,
        locale=alumnus.locale,
        url=link_url(LinkKind.CONFIRM_ADDRESS, alumnus, change.id),
        hours=int(_lifetime(LinkKind.CONFIRM_ADDRESS) / timedelta(hours=1)),
    )


def join_confirmation(alumnus: Alumnus, request: JoinRequest) -> Email:
    """To the address typed at /join: confirm it, then the consent form. Names nobody, and
    is written in the language of the page the request was typed on."""
    return render_email(
        "join_confirmation",
        to=request.email,
        locale=request.locale,
        url=link_url(LinkKind.JOIN, alumnus, request.id),
        hours=int(_lifetime(LinkKind.JOIN) / timedelta(hours=1)),
    )


def address_taken(address: str, locale: str) -> Email:
    """To a new address that is someone else's in our records: nothing changed, and why."""
    return render_email("address_taken", to=address, locale=locale)


def address_changed(alumnus: Alumnus, change: AddressChange) -> Email:
    """To the old address after a change: when it happened, and the link that undoes it."""
    assert change.confirmed_at is not None and change.old_email is not None
    when = babel_dates.format_datetime(
        change.confirmed_at.astimezone(LOCAL_TIME), format="long", locale=alumnus.locale
    )
    return render_email(
        "address_changed",
        to=change.old_email,
        locale=alumnus.locale,
        name=alumnus.display_name,
        when=when,
        url=link_url(LinkKind.KEEP_ADDRESS, alumnus, change.id),
        days=_lifetime(LinkKind.KEEP_ADDRESS).days,
    )


def _lifetime(kind: LinkKind) -> timedelta:
    return CAPABILITIES[kind].lifetime(current_app.config)
