"""The queue of requests to join (``/join``) that matched no graduate: an officer looks the
graduate up by student number and links the request to them (the confirmation link then goes
to the address typed), or rejects it. Every view and step is in the audit log, by request
number and the graduate's pseudonymous id, never with what was typed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from alumni import audit
from alumni.accounts.staff import actor_of
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, JoinRequest, Role
from alumni.people import joining
from alumni.people.joining import JoinOutcome
from alumni.web.staff import bp
from alumni.web.staff.forms import ActionForm, GraduateLookupForm
from alumni.web.staff.session import role_required


@bp.get("/join-requests")
@role_required(Role.OFFICER)
def join_requests() -> str:
    waiting = joining.queue()
    audit.record("join_requests.viewed", actor=actor_of(current_user.staff), count=len(waiting))
    db.session.commit()
    return render_template(
        "staff/join_requests/queue.html", waiting=waiting, kept_days=joining.KEPT_DAYS
    )


@bp.route("/join-requests/<int:request_id>", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def join_request(request_id: int) -> Any:
    waiting = _waiting(request_id)
    actor = actor_of(current_user.staff)
    form = GraduateLookupForm()
    found = None
    if form.validate_on_submit():
        found = joining.find_graduate(form.student_number.data)
        audit.record(
            "join_request.looked_up",
            actor=actor,
            request_id=waiting.id,
            subject_id=found.subject_id if found else None,
            found=found is not None,
        )
        if found is None:
            form.student_number.errors = [_("No graduate with this student number.")]
    elif not form.is_submitted():
        form.student_number.data = waiting.student_number
        audit.record("join_request.viewed", actor=actor, request_id=waiting.id)
    db.session.commit()
    return render_template(
        "staff/join_requests/entry.html",
        entry=waiting,
        form=form,
        found=found,
        action_form=ActionForm(),
    ), (400 if form.errors else 200)


@bp.post("/join-requests/<int:request_id>/link/<subject_id>")
@role_required(Role.OFFICER)
def link_join_request(request_id: int, subject_id: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    waiting = _waiting(request_id)
    graduate = db.session.scalar(
        sa.select(Alumnus).where(
            Alumnus.subject_id == subject_id, Alumnus.status != AlumnusStatus.ERASED
        )
    )
    if graduate is None:
        abort(404)
    outcome = joining.link_to(waiting, graduate, actor=actor_of(current_user.staff))
    db.session.commit()
    if outcome is JoinOutcome.LINKED:
        flash(_("Linked: the confirmation link is on its way to the address typed."), "success")
    else:
        flash(
            _(
                "This graduate or address is on the suppression list: nothing was sent, "
                "and the request is deleted."
            ),
            "error",
        )
    return redirect(url_for("staff.join_requests"), code=303)


@bp.post("/join-requests/<int:request_id>/reject")
@role_required(Role.OFFICER)
def reject_join_request(request_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    joining.reject(_waiting(request_id), actor=actor_of(current_user.staff))
    db.session.commit()
    flash(_("Rejected: the request and what was typed are deleted."), "success")
    return redirect(url_for("staff.join_requests"), code=303)


def _waiting(request_id: int) -> JoinRequest:
    waiting = joining.waiting_for_officer(request_id)
    if waiting is None:
        abort(404)
    return waiting
