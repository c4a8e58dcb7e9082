"""Staff manage their own second factors (/staff/security), and admins reset a colleague's.

Each change asks for a current code (TOTP, or a recovery code), so a session left open is not
enough to take over the account's second factor.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from alumni.accounts import passkeys
from alumni.accounts import second_factor as factors
from alumni.accounts.notices import StaffNotice, notify
from alumni.accounts.staff import actor_of
from alumni.extensions import db
from alumni.models import Role, StaffUser
from alumni.web.staff import bp
from alumni.web.staff.forms import CurrentCodeForm, ReplaceTotpForm
from alumni.web.staff.routes import mark_refused
from alumni.web.staff.second_factor import (
    CHALLENGE,
    TOTP_CANDIDATE,
    second_step_limit,
    totp_page_context,
)
from alumni.web.staff.session import reauthentication_required, role_required

PASSKEY_ALLOWED = "passkey_registration_allowed"


def check_current_code(staff: StaffUser, field: Any) -> bool:
    """The current code of a form; a refusal is audited and shown on the field."""
    try:
        method = factors.verify_code(staff, field.data)
    except factors.SecondFactorError as error:
        db.session.rollback()
        factors.record_attempt(
            staff,
            outcome="failure",
            reason=str(error.refusal),
            address=request.remote_addr,
            action="staff.second_factor.check",
        )
        db.session.commit()
        mark_refused()
        field.errors = [*field.errors, str(error)]
        return False
    factors.record_attempt(
        staff,
        outcome="success",
        method=str(method),
        address=request.remote_addr,
        action="staff.second_factor.check",
    )
    return True


def security_page(**forms: Any) -> tuple[str, int]:
    staff = current_user.staff
    context = {
        "codes_form": CurrentCodeForm(prefix="codes"),
        "passkey_form": CurrentCodeForm(prefix="passkey"),
        **forms,
    }
    failed = any(form.errors for form in forms.values())
    return render_template(
        "staff/security.html",
        staff=staff,
        summary=factors.summary(staff),
        codes_left=factors.recovery_codes_left(staff),
        **context,
    ), (400 if failed else 200)


@bp.get("/security")
@role_required()
def security() -> Any:
    return security_page()


@bp.post("/security/recovery-codes")
@role_required()
@second_step_limit()
def security_recovery_codes() -> Any:
    staff = current_user.staff
    form = CurrentCodeForm(prefix="codes")
    if not form.validate_on_submit() or not check_current_code(staff, form.current_code):
        return security_page(codes_form=form)
    codes = factors.new_recovery_codes(staff)
    notify(staff, StaffNotice.RECOVERY_CODES_RENEWED)
    db.session.commit()
    return render_template(
        "staff/recovery_codes.html", codes=codes, target=url_for("staff.security")
    )


@bp.route("/security/totp", methods=["GET", "POST"])
@role_required()
@second_step_limit()
def security_totp() -> Any:
    staff = current_user.staff
    form = ReplaceTotpForm()
    if form.validate_on_submit() and check_current_code(staff, form.current_code):
        try:
            factors.enrol_totp(staff, session[TOTP_CANDIDATE], form.code.data)
        except (factors.SecondFactorError, KeyError) as error:
            db.session.commit()  # the current code stays spent
            message = str(error) if isinstance(error, factors.SecondFactorError) else ""
            form.code.errors = [*form.code.errors, message or _("Please try again.")]
        else:
            session.pop(TOTP_CANDIDATE, None)
            notify(staff, StaffNotice.TOTP_REPLACED)
            db.session.commit()
            flash(_("Your authenticator app has a new key now."), "success")
            return redirect(url_for("staff.security"), code=303)
    return render_template(
        "staff/security_totp.html",
        form=form,
        replacing=bool(staff.totp_secret),
        **totp_page_context(staff),
    ), (400 if form.errors else 200)


@bp.post("/security/passkey/options")
@role_required()
@second_step_limit()
def security_passkey_options() -> Any:
    staff = current_user.staff
    form = CurrentCodeForm(prefix="passkey")
    if not form.validate_on_submit() or not check_current_code(staff, form.current_code):
        errors = form.current_code.errors or [_("Type the code.")]
        return jsonify(error=" ".join(str(e) for e in errors)), 400
    db.session.commit()  # the code is spent
    options, session[CHALLENGE] = passkeys.registration_options(staff, current_app.config)
    session[PASSKEY_ALLOWED] = True
    return Response(options, mimetype="application/json")


@bp.post("/security/passkey")
@role_required()
def security_passkey() -> Any:
    staff = current_user.staff
    challenge = session.pop(CHALLENGE, None)
    if challenge is None or not session.pop(PASSKEY_ALLOWED, False):
        return jsonify(error="expired"), 400
    try:
        passkeys.register_passkey(
            staff, request.get_data(as_text=True), challenge, current_app.config
        )
    except factors.SecondFactorError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    notify(staff, StaffNotice.PASSKEY_ADDED)
    db.session.commit()
    flash(_("Your passkey has been added."), "success")
    return jsonify(redirect=url_for("staff.security"))


# -- admins: reset a colleague's second factor -----------------------------------------------


@bp.get("/second-factors")
@role_required(Role.ADMIN)
def second_factors() -> str:
    staff = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)).all()
    return render_template(
        "staff/second_factors.html",
        accounts=[(member, factors.summary(member)) for member in staff],
    )


@bp.post("/second-factors/<int:staff_id>/reset")
@role_required(Role.ADMIN)
@reauthentication_required(back_to="staff.second_factors")
def reset_second_factor(staff_id: int) -> Any:
    colleague = db.session.get(StaffUser, staff_id)
    if colleague is None:
        abort(404)
    if colleague.id == current_user.id:
        flash(_("Reset your own second factor on your security page."), "error")
        return redirect(url_for("staff.second_factors"), code=303)
    factors.reset_second_factor(colleague, actor=actor_of(current_user.staff))
    db.session.commit()
    flash(
        _(
            "The second factor of %(email)s was reset; they set up a new one at their next login.",
            email=colleague.email,
        ),
        "success",
    )
    return redirect(url_for("staff.second_factors"), code=303)
