"""Pages for alumni, each reached through a signed link. GET shows, POST changes (I5)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, redirect, render_template, request
from flask_babel import refresh

from alumni import answers, invitations
from alumni.alumni_pages import bp
from alumni.alumni_pages.forms import (
    LinkForm,
    OptInForm,
    PreferencesForm,
    UnsubscribeForm,
    WithdrawForm,
)
from alumni.consent import current_choices
from alumni.extensions import csrf, db, limiter
from alumni.hashing import email_suppression_key
from alumni.links import BadLink, LinkKind, link_url, read_token
from alumni.models import Alumnus, EvidenceChannel
from alumni.my_data import export_data
from alumni.purposes import Purpose
from alumni.validation import InvalidValue


def open_link(kind: LinkKind, token: str) -> Alumnus:
    """The alumnus a link belongs to; pages then speak their language."""
    alumnus = read_token(kind, token).alumnus
    g.alumnus = alumnus
    refresh()
    return alumnus


def relative(url: str) -> str:
    """A link made for email, as a path on this site (the site may run on another host)."""
    return url.removeprefix(current_app.config["BASE_URL"])


@bp.route("/optin/<token>", methods=["GET", "POST"])
def optin(token: str) -> Any:
    alumnus = open_link(LinkKind.OPTIN, token)
    if alumnus.has_responded:
        return redirect(relative(link_url(LinkKind.PREFERENCES, alumnus)), code=303)
    form = OptInForm()
    if request.method == "GET":
        form.fill_from(alumnus)
    elif form.validate_on_submit():
        choices = form.choices()
        try:
            erased = answers.answer_invitation(alumnus, choices, form.corrections())
        except InvalidValue as invalid:
            db.session.rollback()
            form.email.errors = [str(invalid.message)]
        else:
            db.session.commit()
            if erased:
                return render_template("alumni/erased.html", after_optin=True)
            return render_template(
                "alumni/confirmed.html",
                choices=choices,
                preferences_url=relative(link_url(LinkKind.PREFERENCES, alumnus)),
            )
    return render_template("alumni/optin.html", form=form, alumnus=alumnus), (
        400 if form.errors else 200
    )


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    alumnus = open_link(LinkKind.PREFERENCES, token)
    form = PreferencesForm()
    withdraw_form = WithdrawForm()
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
            try:
                erased = answers.change_preferences(
                    alumnus,
                    form.choices(),
                    form.corrections(),
                    locale=form.language.data,
                    paused=form.paused.data,
                )
            except InvalidValue as invalid:
                db.session.rollback()
                form.email.errors = [str(invalid.message)]
            else:
                db.session.commit()
                if erased:
                    return render_template("alumni/erased.html")
                url = relative(link_url(LinkKind.PREFERENCES, alumnus))
                return redirect(f"{url}?saved=1", code=303)
    else:
        form.fill_from(alumnus)
        fill_choices(form, alumnus)
    status = 400 if form.errors or withdraw_form.errors else 200
    return render_template(
        "alumni/preferences.html",
        form=form,
        withdraw_form=withdraw_form,
        alumnus=alumnus,
        saved=request.method == "GET" and request.args.get("saved") == "1",
        my_data_url=relative(link_url(LinkKind.MY_DATA, alumnus)),
    ), status


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the one-click POST comes from a mail provider, without cookie or CSRF token
def unsubscribe(token: str) -> Any:
    """GET shows the choices and changes nothing; POST applies one (RFC 8058 one-click)."""
    if request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click":
        return one_click_unsubscribe(token)
    link = read_token(LinkKind.UNSUBSCRIBE, token)
    alumnus = link.alumnus
    g.alumnus = alumnus
    refresh()
    purpose = Purpose(link.extra[0])
    form = UnsubscribeForm()
    if request.method == "POST":
        csrf.protect()
        if form.validate():
            outcome = apply_unsubscribe_choice(alumnus, purpose, form.choice.data)
            db.session.commit()
            return render_template(
                "alumni/unsubscribed.html",
                outcome=outcome,
                purpose=purpose,
                preferences_url=None
                if outcome == "erased"
                else relative(link_url(LinkKind.PREFERENCES, alumnus)),
            )
    return render_template("alumni/unsubscribe.html", form=form, purpose=purpose), (
        400 if form.errors else 200
    )


def one_click_unsubscribe(token: str) -> tuple[str, int]:
    """RFC 8058: withdraw the email's purpose at once, answer 200, no redirect, idempotent."""
    try:
        link = read_token(LinkKind.UNSUBSCRIBE, token)
    except BadLink as bad:
        if bad.reason == "invalid":
            raise
        return render_template("alumni/unsubscribed.html", outcome="done-before"), 200
    answers.opt_out(link.alumnus, Purpose(link.extra[0]), EvidenceChannel.ONE_CLICK)
    db.session.commit()
    return render_template(
        "alumni/unsubscribed.html", outcome="purpose", purpose=Purpose(link.extra[0])
    ), 200


def apply_unsubscribe_choice(alumnus: Alumnus, purpose: Purpose, choice: str) -> str:
    if choice == "erase":
        answers.withdraw_entirely(alumnus, EvidenceChannel.UNSUBSCRIBE_PAGE)
        return "erased"
    if choice == "all":
        answers.pause_mail(alumnus)
        return "all"
    erased = answers.opt_out(alumnus, purpose, EvidenceChannel.UNSUBSCRIBE_PAGE)
    return "erased" if erased else "purpose"


def fill_choices(form: PreferencesForm, alumnus: Alumnus) -> None:
    form.language.data = alumnus.locale
    form.paused.data = alumnus.paused_at is not None
    for purpose, yes in current_choices(alumnus).items():
        getattr(form, purpose.value).data = "yes" if yes else "no"


@bp.get("/my-data/<token>")
def my_data(token: str) -> Response:
    alumnus = open_link(LinkKind.MY_DATA, token)
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
        # The same answer for every address: nobody learns who is in our records.
        return render_template("alumni/link_sent.html")
    return render_template("alumni/link.html", form=form), 400 if form.errors else 200


@bp.app_context_processor
def purposes() -> dict[str, Any]:
    return {"all_purposes": list(Purpose)}
