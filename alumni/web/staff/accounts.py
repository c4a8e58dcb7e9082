"""The administrator's page of staff accounts: invite a colleague, change a role, switch an
account off and on. Every change needs a recent password (``reauthentication_required``)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from alumni.accounts import lifecycle
from alumni.accounts import second_factor as factors
from alumni.accounts.staff import AccountError, actor_of
from alumni.extensions import db
from alumni.models import Role, StaffUser
from alumni.web.staff import bp
from alumni.web.staff.forms import ActionForm, StaffInviteForm, StaffRoleForm
from alumni.web.staff.session import reauthentication_required, role_required


def _actor() -> str:
    return actor_of(current_user.staff)


def _account(staff_id: int) -> StaffUser:
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        abort(404)
    return staff


def _back() -> Response:
    return redirect(url_for("staff.accounts"), code=303)


@bp.get("/accounts")
@role_required(Role.ADMIN)
@reauthentication_required
def accounts() -> Any:
    return _page(StaffInviteForm())


def _page(invite_form: StaffInviteForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "staff/accounts.html",
        accounts=lifecycle.all_staff(),
        second_factors=factors.summary,
        invite_form=invite_form,
        role_form=StaffRoleForm,
        action_form=ActionForm(),
    ), status


@bp.post("/accounts/invite")
@role_required(Role.ADMIN)
@reauthentication_required(back_to="staff.accounts")
def invite_staff() -> Any:
    form = StaffInviteForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        lifecycle.invite_staff(form.email.data, form.role.data, actor=_actor())
    except AccountError as refusal:
        db.session.rollback()
        form.email.errors = [*form.email.errors, str(refusal)]
        return _page(form, 400)
    db.session.commit()
    flash(_("The invitation is on its way."), "success")
    return _back()


def _change(staff_id: int, change: Any, done: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    staff = _account(staff_id)
    try:
        changed = change(staff)
    except AccountError as refusal:
        db.session.rollback()
        flash(str(refusal), "error")
        return _back()
    db.session.commit()
    if changed:
        flash(done, "success")
    return _back()


@bp.post("/accounts/<int:staff_id>/role")
@role_required(Role.ADMIN)
@reauthentication_required(back_to="staff.accounts")
def change_staff_role(staff_id: int) -> Response:
    form = StaffRoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _change(
        staff_id,
        lambda staff: lifecycle.change_role(staff, form.role.data, actor=_actor()),
        _("The role is changed; the account's sessions have ended."),
    )


@bp.post("/accounts/<int:staff_id>/deactivate")
@role_required(Role.ADMIN)
@reauthentication_required(back_to="staff.accounts")
def deactivate_staff(staff_id: int) -> Response:
    return _change(
        staff_id,
        lambda staff: lifecycle.deactivate(staff, actor=_actor()),
        _("The account is switched off: its sessions and API tokens have stopped."),
    )


@bp.post("/accounts/<int:staff_id>/reactivate")
@role_required(Role.ADMIN)
@reauthentication_required(back_to="staff.accounts")
def reactivate_staff(staff_id: int) -> Response:
    return _change(
        staff_id,
        lambda staff: lifecycle.reactivate(staff, actor=_actor()),
        _("The account is switched on again."),
    )
