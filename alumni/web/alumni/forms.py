"""Forms of the alumni pages. Field names are part of the contract: one per purpose code,
valued ``yes`` or ``no``; the personal fields are validated by the importer's own rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import InputRequired, ValidationError

from alumni.models import PERSONAL_FIELDS, Gender
from alumni.models.alumnus import GENDER_LABELS
from alumni.models.purpose import Purpose
from alumni.people import validation

YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]


def parsed_by(parser: Callable[[str], Any]) -> Callable[[FlaskForm, Field], None]:
    """A validator that runs one of the shared parsers and keeps its clean value."""

    def validate(form: FlaskForm, field: Field) -> None:
        try:
            field.parsed = parser(field.data or "")
        except validation.InvalidValue as invalid:
            raise ValidationError(str(invalid.message)) from None

    return validate


class PurposeFields:
    """Mixin: one yes/no radio group per purpose, nothing chosen in advance."""

    def choices(self) -> dict[Purpose, bool]:
        return {purpose: getattr(self, purpose.value).data == "yes" for purpose in Purpose}

    def purpose_fields(self) -> list[tuple[Purpose, Field]]:
        return [(purpose, getattr(self, purpose.value)) for purpose in Purpose]


for _purpose in Purpose:
    setattr(
        PurposeFields,
        _purpose.value,
        RadioField(
            _purpose.value,  # the page shows the purpose's label as the legend
            choices=YES_NO,
            validators=[InputRequired(message=_l("Choose yes or no."))],
        ),
    )


class PersonalDataFields:
    """Mixin: the nine personal fields, shown filled in so that the person can correct them."""

    first_name = StringField(
        _l("First name"),
        validators=[parsed_by(lambda raw: validation.parse_name(raw, code="missing-first-name"))],
    )
    last_name = StringField(
        _l("Last name"),
        validators=[parsed_by(lambda raw: validation.parse_name(raw, code="missing-last-name"))],
    )
    preferred_name = StringField(
        _l("Preferred name"),
        validators=[
            parsed_by(
                lambda raw: validation.parse_name(
                    raw, code="invalid-preferred-name", required=False
                )
            )
        ],
    )
    email = EmailField(_l("Email address"), validators=[parsed_by(validation.parse_email)])
    phone = StringField(_l("Phone number"), validators=[parsed_by(validation.parse_phone)])
    gender = SelectField(
        _l("Gender"),
        choices=[SelectChoice(gender.value, GENDER_LABELS[gender]) for gender in Gender],
        validators=[parsed_by(validation.parse_gender)],
    )
    date_of_birth = StringField(
        _l("Date of birth"), validators=[parsed_by(validation.parse_date_of_birth)]
    )
    programme = StringField(_l("Programme"), validators=[parsed_by(validation.parse_programme)])
    graduation_year = StringField(
        _l("Graduation year"), validators=[parsed_by(validation.parse_graduation_year)]
    )

    FIELD_NAMES = PERSONAL_FIELDS

    def fill_from(self, alumnus: Any) -> None:
        for name in self.FIELD_NAMES:
            value = getattr(alumnus, name)
            getattr(self, name).data = "" if value is None else str(value)

    def corrections(self) -> dict[str, Any]:
        return {name: getattr(self, name).parsed for name in self.FIELD_NAMES}

    def data_fields(self) -> list[Field]:
        return [getattr(self, name) for name in self.FIELD_NAMES]


class OptInForm(FlaskForm, PurposeFields, PersonalDataFields):
    pass


class PreferencesForm(FlaskForm, PurposeFields, PersonalDataFields):
    paused = BooleanField(_l("Pause all emails for now (your choices and data are kept)"))
    language = SelectField(
        _l("Language of our emails"),
        choices=[SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")],
    )


class WithdrawForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, delete my data and send me no more alumni emails."),
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )


class UnsubscribeForm(FlaskForm):
    choice = RadioField(
        _l("What would you like?"),
        choices=[
            SelectChoice("purpose", _l("No more emails about this subject")),
            SelectChoice("all", _l("No more emails at all (we keep your choices and data)")),
            SelectChoice("erase", _l("Delete my data")),
        ],
        validators=[InputRequired(message=_l("Choose one of the options."))],
    )


class LinkForm(FlaskForm):
    email = EmailField(_l("Your email address"), validators=[parsed_by(validation.parse_email)])


class JoinForm(FlaskForm):
    """``/join``: the three fields of the contract, checked by the importer's own rules."""

    student_number = StringField(
        _l("Student number"), validators=[parsed_by(validation.parse_student_number)]
    )
    date_of_birth = StringField(
        _l("Date of birth"), validators=[parsed_by(validation.parse_date_of_birth)]
    )
    email = EmailField(_l("Your email address"), validators=[parsed_by(validation.parse_email)])


class ButtonForm(FlaskForm):
    """A form that is one button: the CSRF token is all it posts (decline, confirm an
    address, keep an address, email me a link to my preferences)."""
