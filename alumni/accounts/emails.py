"""Emails to staff about their own account. Each is a function that returns its content."""

from __future__ import annotations

from flask import current_app

from alumni import mail
from alumni.extensions import db
from alumni.mail import Email
from alumni.mail.compose import render_email
from alumni.models import StaffUser


def second_factor_reset(staff: StaffUser) -> Email:
    """An admin reset this account's second factor: what stopped working, and what comes next."""
    return render_email(
        "second_factor_reset",
        to=staff.email,
        locale=current_app.config["BABEL_DEFAULT_LOCALE"],
        email=staff.email,
    )


def deliver_second_factor_reset_notice(staff_id: int) -> str:
    """Tell a colleague their second factor was reset; safe to repeat."""
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        return "gone"
    try:
        mail.send(second_factor_reset(staff))
    except mail.PermanentFailure:
        return "refused"
    return "sent"
