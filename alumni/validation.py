"""Rules for the personal fields, shared by the CSV importer and the alumni's own corrections.

Each parser takes the raw text and returns the clean value or raises ``InvalidValue`` with a
stable code (for scripts and tests) and a translatable message (for people).
"""

from __future__ import annotations

from datetime import date, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from alumni.models import Gender

MAX_NAME = 100
MAX_PROGRAMME = 200
FIRST_GRADUATION_YEAR = 1950
OLDEST_BIRTH_YEAR = 1900
YOUNGEST_GRADUATE_AGE = 12

# Dutch spreadsheet exports write these as often as our own codes.
GENDER_ALIASES = {
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
    "v": Gender.FEMALE,
    "vrouw": Gender.FEMALE,
    "male": Gender.MALE,
    "m": Gender.MALE,
    "man": Gender.MALE,
    "nonbinary": Gender.NONBINARY,
    "non-binary": Gender.NONBINARY,
    "non-binair": Gender.NONBINARY,
    "x": Gender.NONBINARY,
    "unknown": Gender.UNKNOWN,
    "onbekend": Gender.UNKNOWN,
    "u": Gender.UNKNOWN,
    "": Gender.UNKNOWN,
}


class InvalidValue(ValueError):
    def __init__(self, code: str, message: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def parse_name(raw: str, *, code: str, required: bool = True) -> str | None:
    value = " ".join(raw.split())
    if not value:
        if required:
            raise InvalidValue(code, _l("This field is required."))
        return None
    if len(value) > MAX_NAME:
        raise InvalidValue(code, _l("At most %(n)d characters.", n=MAX_NAME))
    return value


def parse_programme(raw: str) -> str:
    value = " ".join(raw.split())
    if not value:
        raise InvalidValue("missing-programme", _l("The programme is missing."))
    if len(value) > MAX_PROGRAMME:
        raise InvalidValue("invalid-programme", _l("At most %(n)d characters.", n=MAX_PROGRAMME))
    return value


def parse_email(raw: str) -> str:
    """Syntax only: the school's systems may have no outside network for DNS look-ups."""
    value = raw.strip()
    if not value:
        raise InvalidValue("missing-email", _l("The email address is missing."))
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidValue("invalid-email", _l("This is not a valid email address.")) from None
    return result.normalized.lower()


def parse_phone(raw: str) -> str | None:
    """Any phone number, Dutch unless it says otherwise; stored in E.164 form."""
    value = raw.strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, "NL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidValue("invalid-phone", _l("This is not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_gender(raw: str) -> Gender:
    try:
        return GENDER_ALIASES[raw.strip().lower()]
    except KeyError:
        raise InvalidValue(
            "invalid-gender",
            _l("Gender must be one of: female, male, nonbinary, unknown."),
        ) from None


def parse_date_of_birth(raw: str, today: date | None = None) -> date:
    """ISO (1999-03-31) or Dutch (31-03-1999 or 31/03/1999) dates."""
    value = raw.strip()
    if not value:
        raise InvalidValue("missing-date-of-birth", _l("The date of birth is missing."))
    for form in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            born = datetime.strptime(value, form).date()
            break
        except ValueError:
            continue
    else:
        raise InvalidValue(
            "invalid-date-of-birth", _l("Write the date of birth as 2001-03-31 or 31-03-2001.")
        )
    today = today or date.today()
    youngest = date(today.year - YOUNGEST_GRADUATE_AGE, today.month, min(today.day, 28))
    if born.year < OLDEST_BIRTH_YEAR or born > youngest:
        raise InvalidValue("implausible-date-of-birth", _l("This date of birth is not plausible."))
    return born


def parse_graduation_year(raw: str, today: date | None = None) -> int:
    value = raw.strip()
    if not value:
        raise InvalidValue("missing-graduation-year", _l("The graduation year is missing."))
    last = (today or date.today()).year + 1
    if not value.isdigit() or not FIRST_GRADUATION_YEAR <= int(value) <= last:
        raise InvalidValue(
            "invalid-graduation-year",
            _l(
                "The graduation year must be between %(first)d and %(last)d.",
                first=FIRST_GRADUATION_YEAR,
                last=last,
            ),
        )
    return int(value)
