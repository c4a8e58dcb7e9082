"""A way in for graduates who got no email: ``/join`` asks for the student number, the date
of birth and an address, and answers the same whatever matched (the matching is a job, after
the response); ``/confirm-join/`` is the link sent to that address: GET shows a button, its
POST makes the address the person's and opens the consent form."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request
from sqlalchemy.exc import IntegrityError

from alumni.core.languages import current_locale
from alumni.core.pseudonyms import email_suppression_key, student_key
from alumni.extensions import db, limiter
from alumni.people import joining
from alumni.people.links import LinkKind
from alumni.web.alumni import bp
from alumni.web.alumni.access import onward_url, open_link
from alumni.web.alumni.forms import ButtonForm, JoinForm


def typed_address_key() -> str:
    """The rate-limit key of the address typed: a keyed hash, never the address itself."""
    return "join:" + email_suppression_key(request.form.get("email", ""))


def typed_student_key() -> str:
    """The rate-limit key of the student number typed: each guess of a date of birth for
    one student number counts, from whichever client."""
    return "join-student:" + student_key(request.form.get("student_number", "")[:100])


@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["JOIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["JOIN_RATE_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    key_func=typed_address_key,
)
@limiter.limit(
    lambda: current_app.config["JOIN_RATE_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    key_func=typed_student_key,
)
def join() -> Any:
    form = JoinForm()
    if form.validate_on_submit():
        joining.request_join(
            form.student_number.parsed,
            form.date_of_birth.parsed,
            form.email.parsed,
            current_locale(),
        )
        db.session.commit()
        # The same page, and the same work before it, for a match, no match and a suppressed
        # person: nobody learns who is in our records.
        return render_template("alumni/join_sent.html")
    return render_template("alumni/join.html", form=form), 400 if form.errors else 200


@bp.route("/confirm-join/<token>", methods=["GET", "POST"])
def confirm_join(token: str) -> Any:
    link = open_link(token)
    join_request = joining.waiting_request(link)
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template("alumni/confirm_join.html", form=form, address=join_request.email)
    if not joining.confirm(link, join_request):
        db.session.rollback()
        return render_template("alumni/address_unavailable.html"), 409
    try:
        db.session.commit()
    except IntegrityError:  # another person's confirmation took the address a moment before
        db.session.rollback()
        return render_template("alumni/address_unavailable.html"), 409
    onward = LinkKind.PREFERENCES if link.alumnus.has_responded else LinkKind.OPTIN
    return redirect(onward_url(onward), code=303)
