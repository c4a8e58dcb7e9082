"""Forms of the staff pages; every one carries Flask-WTF's csrf_token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from alumni.staff.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    # No syntax check: every typed address gets the same answer and the same cost.
    email = EmailField(
        _l("Email address"), validators=[InputRequired(message=_l("Type your email address."))]
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(message=_l("Type your password."))]
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Type your current password."))],
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(message=_l("Type a new password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l(
                    "A password needs %(min)d to %(max)d characters.",
                    min=MIN_PASSWORD_LENGTH,
                    max=MAX_PASSWORD_LENGTH,
                ),
            ),
        ],
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(message=_l("Type the new password a second time.")),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )
