"""Composing an email: its subject, plain text and HTML from
``templates/email/<name>/{subject.txt,body.txt,body.html}`` in the recipient's language, the
HTML's styles inlined; and the one-click opt-out headers every mailing carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import css_inline
from flask import current_app, render_template
from flask_babel import force_locale

from alumni.mail.message import Attachment, Email

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


def render_email(
    template: str,
    *,
    to: str,
    locale: str,
    headers: Mapping[str, str] | None = None,
    attachments: tuple[Attachment, ...] = (),
    **context: Any,
) -> Email:
    context.setdefault("organisation", current_app.config["ORGANISATION_NAME"])
    context.setdefault("privacy_contact", current_app.config["PRIVACY_CONTACT"])
    with force_locale(locale):
        subject = render_template(f"email/{template}/subject.txt", **context).strip()
        text = render_template(f"email/{template}/body.txt", **context)
        html = _inliner.inline(render_template(f"email/{template}/body.html", **context))
    return Email(
        to=to,
        subject=subject,
        text=text,
        html=html,
        headers=dict(headers or {}),
        attachments=attachments,
    )


def one_click_headers(url: str, token: str) -> dict[str, str]:
    """RFC 8058 and RFC 2369: the opt-out a mail client offers, over https and by mail."""
    mailto = current_app.config["UNSUBSCRIBE_MAILTO"]
    subject = "unsubscribe%20" + quote(token)  # a token is URL-safe: quoting is quick
    return {
        "List-Unsubscribe": f"<{url}>, <mailto:{mailto}?subject={subject}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": current_app.config["LIST_ID"],
    }
