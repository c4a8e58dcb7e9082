"""Each email is a function that returns its content, rendered from
``templates/email/<name>/{subject.txt,body.txt,body.html}`` in the recipient's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import css_inline
from babel import dates as babel_dates
from flask import current_app, render_template
from flask_babel import force_locale

from alumni.mail import Email
from alumni.models import LOCAL_TIME, AddressChange, Alumnus
from alumni.models.purpose import Purpose
from alumni.people.links import CAPABILITIES, LinkKind, link_url, link_url_for_token, make_token

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


def render_email(
    template: str,
    *,
    to: str,
    locale: str,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Email:
    context.setdefault("organisation", current_app.config["ORGANISATION_NAME"])
    context.setdefault("privacy_contact", current_app.config["PRIVACY_CONTACT"])
    with force_locale(locale):
        subject = render_template(f"email/{template}/subject.txt", **context).strip()
        text = render_template(f"email/{template}/body.txt", **context)
        html = _inliner.inline(render_template(f"email/{template}/body.html", **context))
    return Email(to=to, subject=subject, text=text, html=html, headers=dict(headers or {}))


def one_click_headers(url: str, token: str) -> dict[str, str]:
    """RFC 8058 and RFC 2369: the opt-out a mail client offers, over https and by mail."""
    mailto = current_app.config["UNSUBSCRIBE_MAILTO"]
    subject = "unsubscribe%20" + quote(token)  # a token is URL-safe: quoting is quick
    return {
        "List-Unsubscribe": f"<{url}>, <mailto:{mailto}?subject={subject}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": current_app.config["LIST_ID"],
    }


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
