"""The opt-outs in every email: a campaign email's (``/unsubscribe/``, one purpose) and an
invitation's (``/decline/``, do not contact me). Each is a page with its choices and an RFC 8058
one-click POST. Their pages show nothing of the person but the purpose, and lead to no other
page about them: a forwarded newsletter or an old mailbox holds these links for years.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

from alumni.consent import answers
from alumni.consent.answers import OptOut
from alumni.extensions import csrf, db, limiter
from alumni.models import Alumnus, EvidenceChannel
from alumni.models.purpose import Purpose
from alumni.people import invitations
from alumni.people.links import unverified_subject
from alumni.web.alumni import bp
from alumni.web.alumni.access import open_link, open_one_click
from alumni.web.alumni.forms import ButtonForm, UnsubscribeForm


def is_one_click() -> bool:
    """RFC 8058: the POST a mail client makes, with no cookie and no CSRF token."""
    return request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the one-click POST comes from a mail provider; the page's form is checked below
def unsubscribe(token: str) -> Any:
    """GET shows the choices and changes nothing; POST applies one."""
    if is_one_click():
        return one_click_unsubscribe(token)
    link = open_link(token)
    purpose = Purpose(link.extra[0])
    form = UnsubscribeForm()
    if request.method == "POST":
        csrf.protect()
        if form.validate():
            outcome = apply_choice(link.alumnus, purpose, form.choice.data)
            db.session.commit()
            return render_template(
                "alumni/unsubscribed.html",
                outcome=outcome,
                purpose=purpose,
                link_form=None if outcome == OptOut.ERASED else ButtonForm(),
            )
    return render_template(
        "alumni/unsubscribe.html", form=form, purpose=purpose, link_form=ButtonForm()
    ), (400 if form.errors else 200)


def one_click_unsubscribe(token: str) -> tuple[str, int]:
    """Withdraw the email's purpose at once, whatever the link's age; 200 with what it did,
    no redirect; a link that is not ours answers 400 (``BadLink``)."""
    link = open_one_click(token)
    purpose = None
    outcome = OptOut.NOTHING_LEFT
    if link is not None:
        purpose = Purpose(link.extra[0])
        outcome = answers.opt_out(link.alumnus, purpose, EvidenceChannel.ONE_CLICK)
        db.session.commit()
    return render_template("alumni/unsubscribed.html", outcome=outcome, purpose=purpose), 200


def apply_choice(alumnus: Alumnus, purpose: Purpose, choice: str) -> str:
    if choice == "erase":
        answers.withdraw_entirely(alumnus, EvidenceChannel.UNSUBSCRIBE_PAGE)
        return OptOut.ERASED
    if choice == "all":
        answers.pause_mail(alumnus)
        return "all"
    return answers.opt_out(alumnus, purpose, EvidenceChannel.UNSUBSCRIBE_PAGE)


def person_of_link_key() -> str:
    """Requests for a preferences link count per person named by the link, as ``/link``
    counts them per address."""
    token = (request.view_args or {}).get("token", "")
    return "preferences-link:" + unverified_subject(token)


@bp.post("/unsubscribe/<token>/preferences-link")
@limiter.limit(lambda: current_app.config["LINK_RATE_LIMIT"])
@limiter.limit(
    lambda: current_app.config["LINK_RATE_LIMIT_PER_ADDRESS"], key_func=person_of_link_key
)
def unsubscribe_preferences_link(token: str) -> str:
    """Instead of a link to the preferences on the page: one by email, to the address on file
    (the same answer whatever happens)."""
    link = open_link(token)
    invitations.request_link_for(link.alumnus)
    db.session.commit()
    return render_template("alumni/preferences_link_sent.html")


@bp.route("/decline/<token>", methods=["GET", "POST"])
@csrf.exempt  # the one-click POST comes from a mail provider; the page's form is checked below
def decline(token: str) -> Any:
    """An invitation's opt-out: GET asks, POST erases the person and keeps them off our lists
    for good (one-click or the page's button)."""
    if is_one_click():
        link = open_one_click(token)
        declined = link is not None and answers.decline(link.alumnus, EvidenceChannel.ONE_CLICK)
        db.session.commit()
        return render_template("alumni/declined.html", declined=declined), 200
    link = open_link(token)
    form = ButtonForm()
    if request.method == "POST":
        csrf.protect()
        declined = answers.decline(link.alumnus, EvidenceChannel.UNSUBSCRIBE_PAGE)
        db.session.commit()
        return render_template("alumni/declined.html", declined=declined)
    return render_template("alumni/decline.html", form=form)
