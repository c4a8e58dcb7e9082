"""Pages for alumni, each reached through a signed link. GET shows, POST changes (I5).

The consent form and the preferences here; the opt-outs in ``optout``, the address change in
``address``. Which link opens which page, and what it may hand out: ``alumni.people.links``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, redirect, render_template, request
from flask_babel import gettext as _

from alumni.consent import answers, notices
from alumni.consent.decisions import current_choices
from alumni.core.languages import current_locale
from alumni.core.pseudonyms import email_suppression_key
from alumni.extensions import db, limiter
from alumni.models import Alumnus, EvidenceChannel
from alumni.models.purpose import Purpose
from alumni.people import addresses, invitations
from alumni.people.export import export_data
from alumni.people.links import LinkKind
from alumni.web.alumni import bp
from alumni.web.alumni.access import onward_url, open_link, within_limit
from alumni.web.alumni.forms import (
    LinkForm,
    OptInForm,
    PersonalDataFields,
    PreferencesForm,
    WithdrawForm,
)


@bp.route("/optin/<token>", methods=["GET", "POST"])
def optin(token: str) -> Any:
    alumnus = open_link(token).alumnus
    if alumnus.has_responded:
        return redirect(onward_url(LinkKind.PREFERENCES), code=303)
    form = OptInForm()
    status = 200
    if request.method == "GET":
        form.fill_from(alumnus)
    elif form.validate_on_submit():
        changing = address_change_asked(form, alumnus)
        if changing is None:
            status = 429
        else:
            choices = form.choices()
            erased = answers.answer_invitation(alumnus, choices, form.corrections())
            if changing and not erased:
                addresses.request_change(alumnus, form.email.parsed)
            db.session.commit()
            if erased:
                return render_template("alumni/erased.html", after_optin=True)
            return render_template(
                "alumni/confirmed.html",
                choices=choices,
                address_sent=changing,
                preferences_url=onward_url(LinkKind.PREFERENCES),
            )
    return render_template("alumni/optin.html", form=form, alumnus=alumnus, **notice_in_force()), (
        400 if form.errors and status == 200 else status
    )


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    alumnus = open_link(token).alumnus
    form = PreferencesForm()
    withdraw_form = WithdrawForm()
    status = 200
    # Two forms on one page; the button pressed says which (both post a csrf_token).
    action = request.form.get("action") if request.method == "POST" else None
    if action == "withdraw":
        if withdraw_form.validate_on_submit():
            answers.withdraw_entirely(alumnus, EvidenceChannel.PREFERENCES)
            db.session.commit()
            return render_template("alumni/erased.html")
        form.fill_from(alumnus)
        fill_choices(form, alumnus)
    elif action is not None:
        if form.validate_on_submit():
            changing = address_change_asked(form, alumnus)
            if changing is None:
                status = 429
            else:
                erased = answers.change_preferences(
                    alumnus,
                    form.choices(),
                    form.corrections(),
                    locale=form.language.data,
                    paused=form.paused.data,
                )
                if changing and not erased:
                    addresses.request_change(alumnus, form.email.parsed)
                db.session.commit()
                if erased:
                    return render_template("alumni/erased.html")
                # The same answer whatever the new address is: someone else's, suppressed or
                # free (and the link itself still works: nothing of the person changed).
                sent = "&address=sent" if changing else ""
                return redirect(f"{request.path}?saved=1{sent}", code=303)
    else:
        form.fill_from(alumnus)
        fill_choices(form, alumnus)
    if status == 200 and (form.errors or withdraw_form.errors):
        status = 400
    return render_template(
        "alumni/preferences.html",
        form=form,
        withdraw_form=withdraw_form,
        alumnus=alumnus,
        saved=request.method == "GET" and request.args.get("saved") == "1",
        address_sent=request.method == "GET" and request.args.get("address") == "sent",
        my_data_url=onward_url(LinkKind.MY_DATA),
        **notice_in_force(),
    ), status


def notice_in_force() -> dict[str, Any]:
    """The privacy notice a choice on this page is given under, in the page's language."""
    notice = notices.in_force()
    return {"notice": notice, "notice_html": notices.as_html(notice, current_locale())}


def address_change_asked(form: PersonalDataFields, alumnus: Alumnus) -> bool | None:
    """Whether the form asks for a new address; None, with the reason on the field, when the
    person has asked too often (each request mails the address typed)."""
    if form.email.parsed == alumnus.email:
        return False
    if within_limit("ADDRESS_CHANGE_RATE_LIMIT", "address-change", alumnus.subject_id):
        return True
    form.email.errors = [
        _("You have asked to change your email address too often. Please try again later.")
    ]
    return None


def fill_choices(form: PreferencesForm, alumnus: Alumnus) -> None:
    form.language.data = alumnus.locale
    form.paused.data = alumnus.paused_at is not None
    for purpose, yes in current_choices(alumnus).items():
        getattr(form, purpose.value).data = "yes" if yes else "no"


@bp.get("/my-data/<token>")
def my_data(token: str) -> Response:
    alumnus = open_link(token).alumnus
    body = json.dumps(export_data(alumnus), ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-alumni-data.json"'},
    )


def typed_address_key() -> str:
    """The rate-limit key of the address typed: a keyed hash, never the address itself."""
    return "link:" + email_suppression_key(request.form.get("email", ""))


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LINK_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LINK_RATE_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    key_func=typed_address_key,
)
def link() -> Any:
    form = LinkForm()
    if form.validate_on_submit():
        invitations.request_fresh_link(form.email.parsed)
        db.session.commit()
        # The same answer for every address: nobody learns who is in our records.
        return render_template("alumni/link_sent.html")
    return render_template("alumni/link.html", form=form), 400 if form.errors else 200


@bp.app_context_processor
def purposes() -> dict[str, Any]:
    return {"all_purposes": list(Purpose)}
