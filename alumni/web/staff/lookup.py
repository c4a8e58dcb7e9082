"""Requests by email, phone or letter: officers find a person by address and send a fresh
link; administrators erase on request. Every look-up and every step is in the audit log,
under the person's pseudonymous id, never their address."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from alumni import audit
from alumni.accounts.staff import actor_of
from alumni.consent.decisions import current_choices
from alumni.consent.suppression import is_address_suppressed
from alumni.core.pseudonyms import normalise_email
from alumni.erasure import request_erasure
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    Delivery,
    DeliveryStatus,
    EvidenceChannel,
    Role,
    SuppressionReason,
)
from alumni.people import invitations
from alumni.web.staff import bp
from alumni.web.staff.forms import ActionForm, EraseForm, LookupForm
from alumni.web.staff.session import reauthentication_required, role_required


@bp.route("/alumni", methods=["GET", "POST"], endpoint="alumni")
@role_required(Role.OFFICER)
def lookup() -> Any:
    form = LookupForm()
    suppressed = False
    if form.validate_on_submit():
        address = normalise_email(form.email.data)
        alumnus = db.session.scalar(sa.select(Alumnus).where(Alumnus.email == address))
        audit.record(
            "alumni.looked_up",
            actor=actor_of(current_user.staff),
            subject_id=alumnus.subject_id if alumnus else None,
            found=alumnus is not None,
        )
        db.session.commit()
        if alumnus is not None:
            return redirect(url_for("staff.alumnus", subject_id=alumnus.subject_id), code=303)
        # Erased people are kept only as keyed hashes: enough to say "we hold nothing".
        suppressed = is_address_suppressed(address)
        form.email.errors = [_("Nobody with this email address is in our records.")]
    return render_template("staff/alumni/lookup.html", form=form, suppressed=suppressed), (
        400 if form.errors else 200
    )


@bp.get("/alumni/<subject_id>")
@role_required(Role.OFFICER)
def alumnus(subject_id: str) -> str:
    person = _alumnus(subject_id)
    audit.record("alumnus.viewed", actor=actor_of(current_user.staff), subject_id=subject_id)
    db.session.commit()
    received = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.alumnus_id == person.id, Delivery.status == DeliveryStatus.SENT)
    )
    return render_template(
        "staff/alumni/alumnus.html",
        person=person,
        status=person.status.label,
        choices=current_choices(person),
        since={consent.purpose: consent.changed_at for consent in person.consents},
        received=received or 0,
        action_form=ActionForm(),
        erase_form=EraseForm(),
    )


@bp.post("/alumni/<subject_id>/link")
@role_required(Role.OFFICER)
def send_link(subject_id: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    person = _alumnus(subject_id)
    if invitations.send_fresh_link(person, actor=actor_of(current_user.staff)):
        db.session.commit()
        flash(_("A fresh link is on its way to the address we hold."), "success")
    else:
        flash(_("This person has not been invited yet: run the invitations first."), "error")
    return redirect(url_for("staff.alumnus", subject_id=subject_id), code=303)


@bp.post("/alumni/<subject_id>/erase")
@role_required(Role.ADMIN)
@reauthentication_required(back_to="staff.alumnus")
def erase(subject_id: str) -> Any:
    person = _alumnus(subject_id)
    form = EraseForm()
    if not form.validate_on_submit():
        flash(_("Confirm that you checked the request first."), "error")
        return redirect(url_for("staff.alumnus", subject_id=subject_id), code=303)
    request_erasure(
        person,
        reason=SuppressionReason.ERASED,
        channel=EvidenceChannel.STAFF,
        actor=actor_of(current_user.staff),
    )
    db.session.commit()
    flash(
        _(
            "The erasure is recorded and carried out within a minute. What is left is the "
            "pseudonymous id %(subject)s, in the audit log and the evidence of consent.",
            subject=subject_id,
        ),
        "success",
    )
    return redirect(url_for("staff.alumni"), code=303)


def _alumnus(subject_id: str) -> Alumnus:
    person = db.session.scalar(sa.select(Alumnus).where(Alumnus.subject_id == subject_id))
    if person is None or person.is_erased:
        abort(404)
    return person
