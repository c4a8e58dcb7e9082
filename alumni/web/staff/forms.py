"""Forms of the staff pages; every one carries Flask-WTF's csrf_token."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from alumni.accounts.staff import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from alumni.campaigns.service import MAX_SUBJECT
from alumni.models import Role
from alumni.models.purpose import Purpose
from alumni.people.validation import FIRST_GRADUATION_YEAR

MAX_BODY = 100_000
YEAR_RANGE = re.compile(r"^([0-9]{4})\s*[-\u2013]\s*([0-9]{4})$", re.ASCII)


class LoginForm(FlaskForm):
    # No syntax check: every typed address gets the same answer and the same cost.
    email = EmailField(
        _l("Email address"), validators=[InputRequired(message=_l("Type your email address."))]
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(message=_l("Type your password."))]
    )


def code_field(label: object) -> StringField:
    """A code from the authenticator app, or a recovery code."""
    return StringField(
        label, validators=[InputRequired(message=_l("Type the code.")), Length(max=64)]
    )


class CodeForm(FlaskForm):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = code_field(_l("Code"))


class CurrentCodeForm(FlaskForm):
    """A change to one's own second factors is confirmed with a code of the present ones."""

    current_code = code_field(_l("Current code (or a recovery code)"))


class ReplaceTotpForm(CurrentCodeForm):
    code = code_field(_l("Code from the new key"))


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


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


def one_line(form: FlaskForm, field: Field) -> None:
    """A subject becomes a mail header: a line break would end it or start another one."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in field.data or ""):
        raise ValidationError(_l("The subject must be one line, without line breaks."))


def parse_years(text: str, today: date | None = None) -> list[int]:
    """ "2019, 2021-2023" as [2019, 2021, 2022, 2023]; raises ValueError with a message."""
    last = (today or date.today()).year + 1
    years: set[int] = set()
    for part in filter(None, (part.strip() for part in text.split(","))):
        span = YEAR_RANGE.match(part)
        if span:
            first, final = int(span.group(1)), int(span.group(2))
        elif part.isascii() and part.isdigit():
            first = final = int(part)
        else:
            raise ValueError(
                _l("Write years as 2021, or a range as 2019-2022, separated by commas.")
            )
        if not FIRST_GRADUATION_YEAR <= first <= final <= last:
            raise ValueError(
                _l(
                    "Graduation years lie between %(first)d and %(last)d, the first of a range "
                    "before the last.",
                    first=FIRST_GRADUATION_YEAR,
                    last=last,
                )
            )
        years.update(range(first, final + 1))
    return sorted(years)


def format_years(years: list[int]) -> str:
    """The inverse of ``parse_years``: consecutive years as ranges."""
    parts: list[str] = []
    for year in sorted(years):
        if parts and year == int(parts[-1].rpartition("-")[2]) + 1:
            parts[-1] = f"{parts[-1].partition('-')[0]}-{year}"
        else:
            parts.append(str(year))
    return ", ".join(parts)


class CampaignForm(FlaskForm):
    """A campaign's content and audience. The programme choices are set per request."""

    purpose = RadioField(
        _l("Purpose"),
        choices=[],  # set per request: the labels in the staff member's language
        validators=[InputRequired(message=_l("Choose the purpose this email serves."))],
    )
    subject = StringField(
        _l("Subject"),
        validators=[
            DataRequired(message=_l("Write a subject.")),
            Length(max=MAX_SUBJECT, message=_l("At most %(max)d characters.", max=MAX_SUBJECT)),
            one_line,
        ],
    )
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(message=_l("Write the message.")),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
    )
    programme = SelectMultipleField(
        _l("Programmes"),
        choices=[],
        validate_choice=True,
    )
    graduation_years = StringField(_l("Graduation years"))
    tracking = BooleanField(_l("Count how many people open it (never who)"), default=True)

    def __init__(self, *args: object, programmes: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.purpose.choices = [SelectChoice(purpose.value, purpose.label) for purpose in Purpose]
        self.programme.choices = [SelectChoice(name, name) for name in programmes]
        self.years: list[int] = []

    def validate_graduation_years(self, field: Field) -> None:
        try:
            self.years = parse_years(field.data or "")
        except ValueError as invalid:
            raise ValidationError(str(invalid)) from None

    @property
    def fields_for_service(self) -> dict[str, object]:
        """The values as ``create_campaign`` and ``update_draft`` take them."""
        return {
            "purpose": Purpose(self.purpose.data),
            "subject": self.subject.data.strip(),
            "body": self.body.data,
            "programmes": list(self.programme.data or []),
            "graduation_years": self.years,
            "tracking": bool(self.tracking.data),
        }


class ScheduleForm(FlaskForm):
    """When to send: a local time (Europe/Amsterdam), or now."""

    send_at = DateTimeLocalField(
        _l("Date and time"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )


class LookupForm(FlaskForm):
    """An alumnus by email address: posted, so that the address never lands in a URL or log."""

    email = EmailField(
        _l("Email address"), validators=[InputRequired(message=_l("Type an email address."))]
    )


class GraduateLookupForm(FlaskForm):
    """A graduate by student number, for a request to join that matched nobody: posted, so
    that the number never lands in a URL or a log."""

    student_number = StringField(
        _l("Student number"),
        validators=[
            InputRequired(message=_l("Type a student number.")),
            Length(max=32, message=_l("A student number has at most %(max)d characters.", max=32)),
        ],
    )


class ImportForm(FlaskForm):
    csv_file = FileField(
        _l("CSV file"),
        validators=[FileRequired(message=_l("Choose the CSV file to import."))],
    )


class InviteForm(FlaskForm):
    """Which graduates to invite: everyone waiting, or one graduation year (choices per page)."""

    cohort = SelectField(_l("Graduates"), coerce=str, validate_choice=True)


class EraseForm(FlaskForm):
    confirmed = BooleanField(
        _l("I have checked that the request comes from this person."),
        validators=[InputRequired(message=_l("Confirm that you checked the request first."))],
    )


class AuditFilterForm(FlaskForm):
    """The filters of the audit log page, read from the query string (no CSRF: it reads)."""

    class Meta:
        csrf = False

    actor = SelectField(_l("Who"), choices=[], validate_choice=False)
    action = SelectField(_l("What"), choices=[], validate_choice=False)
    subject_id = StringField(_l("Pseudonymous id of an alumnus"), validators=[Length(max=32)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    return (
        PasswordField(
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
        ),
        PasswordField(
            _l("New password again"),
            validators=[
                InputRequired(message=_l("Type the new password a second time.")),
                EqualTo("new_password", message=_l("The two new passwords are not the same.")),
            ],
        ),
    )


class NewPasswordForm(FlaskForm):
    """Setting a password through an invitation or a reset link."""

    new_password, confirm_password = _new_password_fields()


class ReauthenticateForm(FlaskForm):
    password = PasswordField(
        _l("Password"), validators=[InputRequired(message=_l("Type your password."))]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email address"), validators=[InputRequired(message=_l("Type your email address."))]
    )


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, role.label) for role in Role]


class StaffInviteForm(FlaskForm):
    email = EmailField(
        _l("Email address"), validators=[InputRequired(message=_l("Type an email address."))]
    )
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=True)


class StaffRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=True)


class TokenForm(FlaskForm):
    """A new API token: what it is for, and how many days it works (the domain checks both)."""

    name = StringField(
        _l("Name"), validators=[InputRequired(message=_l("Give the token a name: what is it for?"))]
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[InputRequired(message=_l("Type a number of days."))],
    )


class EvidenceExportForm(FlaskForm):
    """The period (local days, both included) and the file's format."""

    since = DateField(_l("From"), validators=[InputRequired(message=_l("Give the first day."))])
    until = DateField(_l("Until"), validators=[InputRequired(message=_l("Give the last day."))])
    format = SelectField(
        _l("Format"),
        choices=[SelectChoice("csv", "CSV"), SelectChoice("json", "JSON")],
        validate_choice=True,
    )

    def validate_until(self, field: DateField) -> None:
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError(_l("The last day comes before the first."))
