"""Each email is a function that returns its content, rendered from
``templates/email/<name>/{subject.txt,body.txt,body.html}`` in the recipient's language."""

from __future__ import annotations

from typing import Any

import css_inline
from flask import current_app, render_template
from flask_babel import force_locale

from alumni.links import LinkKind, link_url
from alumni.mail import Email
from alumni.models import Alumnus
from alumni.purposes import Purpose

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


def render_email(template: str, *, to: str, locale: str, **context: Any) -> Email:
    context.setdefault("organisation", current_app.config["ORGANISATION_NAME"])
    context.setdefault("privacy_contact", current_app.config["PRIVACY_CONTACT"])
    with force_locale(locale):
        subject = render_template(f"email/{template}/subject.txt", **context).strip()
        text = render_template(f"email/{template}/body.txt", **context)
        html = _inliner.inline(render_template(f"email/{template}/body.html", **context))
    return Email(to=to, subject=subject, text=text, html=html)


def invitation(alumnus: Alumnus) -> Email:
    """The invitation to the consent form: names the five purposes, carries the opt-in link."""
    return render_email(
        "invitation",
        to=alumnus.email or "",
        locale=alumnus.locale,
        name=alumnus.display_name,
        purposes=list(Purpose),
        optin_url=link_url(LinkKind.OPTIN, alumnus),
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
