"""Setting a password without being logged in: a forgotten one (a link by email), and the
first one of an invited colleague. The request page answers the same whatever is typed."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import logout_user

from alumni.accounts import lifecycle, links
from alumni.accounts import sso as sso_accounts
from alumni.accounts import staff as accounts
from alumni.extensions import db, limiter
from alumni.web.staff import bp
from alumni.web.staff.forms import ForgotPasswordForm, NewPasswordForm


def typed_reset_key() -> str:
    """Per address typed (as a keyed hash): nobody floods one colleague's inbox."""
    return "staff-reset:" + accounts.typed_email_key(request.form.get("email", ""))


def _passwords_in_use() -> None:
    if not sso_accounts.password_login_allowed(current_app.config):
        abort(404)  # only the school's provider signs staff in


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    key_func=typed_reset_key,
)
def forgot_password() -> Any:
    _passwords_in_use()
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        lifecycle.request_password_reset(form.email.data, address=request.remote_addr)
        db.session.commit()
        # The same words whether the address has an account or not.
        flash(
            _(
                "If this address belongs to a staff account, a link to set a new password is "
                "on its way. It works for %(minutes)d minutes.",
                minutes=int(current_app.config["PASSWORD_RESET_MINUTES"]),
            ),
            "info",
        )
        return redirect(url_for("staff.login"), code=303)
    return render_template("staff/forgot_password.html", form=form), (400 if form.errors else 200)


def _set_password(token: str, kind: links.StaffLink, template: str) -> Any:
    staff = links.staff_for_link(token, kind)
    if staff is None:
        return render_template("staff/bad_link.html", kind=str(kind)), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            lifecycle.set_password_through_link(
                staff, kind, form.new_password.data, address=request.remote_addr
            )
        except accounts.AccountError as refusal:
            db.session.rollback()
            form.new_password.errors = [*form.new_password.errors, str(refusal)]
        else:
            db.session.commit()
            logout_user()  # whoever was logged in in this browser: log in afresh
            flash(_("Your password is set. Log in with it."), "success")
            return redirect(url_for("staff.login"), code=303)
    page = render_template(
        template, form=form, email=staff.email, min_length=accounts.MIN_PASSWORD_LENGTH
    )
    return page, (400 if form.errors else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    _passwords_in_use()
    return _set_password(token, links.StaffLink.PASSWORD_RESET, "staff/reset_password.html")


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Any:
    _passwords_in_use()
    return _set_password(token, links.StaffLink.INVITATION, "staff/welcome.html")
