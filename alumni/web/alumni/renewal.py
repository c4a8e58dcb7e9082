"""``/renewal/``: the page behind a renewal email. It shows the person's choices and what
changed in the notice; "keep my choices" is one button whose POST renews every consent given
(mail scanners open every link: the GET changes nothing, I5). Changing them is the preferences'
job, one link away."""

from __future__ import annotations

from typing import Any

from flask import render_template

from alumni.consent import notices
from alumni.consent.answers import keep_choices
from alumni.consent.decisions import current_choices
from alumni.extensions import db
from alumni.people.links import LinkKind
from alumni.web.alumni import bp
from alumni.web.alumni.access import onward_url, open_link
from alumni.web.alumni.forms import ButtonForm


@bp.route("/renewal/<token>", methods=["GET", "POST"])
def renewal(token: str) -> Any:
    alumnus = open_link(token).alumnus
    form = ButtonForm()
    choices = current_choices(alumnus)
    preferences_url = onward_url(LinkKind.PREFERENCES)
    if form.validate_on_submit():
        keep_choices(alumnus)
        db.session.commit()
        return render_template(
            "alumni/renewal_kept.html", choices=choices, preferences_url=preferences_url
        )
    return render_template(
        "alumni/renewal.html",
        form=form,
        choices=choices,
        notice=notices.in_force(),
        preferences_url=preferences_url,
    )
