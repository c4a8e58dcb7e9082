"""Rules for the personal fields, shared by the CSV importer and the alumni's own corrections.

Each parser takes the raw text and returns the clean value or raises ``InvalidValue`` with a
stable code (for scripts and tests) and a translatable message (for people).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from alumni.models import Gender

MAX_NAME = 100
MAX_PROGRAMME = 200
MAX_STUDENT_NUMBER = 32
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


# Fast paths for the common cases: each accepts only what the library accepts too, with the
# same result, and leaves everything else to the library (tests check they agree).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_EMAIL = re.compile(
    rf"{_ATEXT}(?:\.{_ATEXT})*@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63})",
    re.ASCII,
)
_DUTCH_PHONE = re.compile(r"(?:\+31|0031|0)([1-9][0-9]{8})", re.ASCII)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DUTCH_DATE = re.compile(r"([0-9]{2})([-/])([0-9]{2})\2([0-9]{4})", re.ASCII)


class Refusal(ValueError):
    """The one shape of a refused input: a stable code for scripts and tests, a message for
    people (often a lazy translation: ``str()`` it when shown)."""

    def __init__(self, code: str, message: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class InvalidValue(Refusal):
    """A personal field that does not pass its rule."""


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
    if _is_plain_email(value):
        return value.lower()
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidValue("invalid-email", _l("This is not a valid email address.")) from None
    return result.normalized.lower()


def _is_plain_email(value: str) -> bool:
    """An ASCII address that ``validate_email`` accepts as it is (apart from case)."""
    match = _PLAIN_EMAIL.fullmatch(value)
    if match is None or len(value) > 254:
        return False
    domain = match["domain"].lower()
    if len(domain) > 253 or "--" in domain:  # "xn--" and other reserved labels: the library
        return False
    return not any(
        domain == name or domain.endswith("." + name)
        for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
    )


class _NumberKind:
    """One kind of number of phonenumbers' metadata: its pattern and its possible lengths."""

    def __init__(self, description: phonenumbers.PhoneNumberDesc) -> None:
        self.pattern = re.compile(description.national_number_pattern)
        self.lengths = frozenset(description.possible_length or ())

    def fits(self, national: str) -> bool:
        return len(national) in self.lengths and self.pattern.fullmatch(national) is not None


@cache
def _dutch_kinds() -> tuple[_NumberKind, tuple[_NumberKind, ...]]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("NL")
    return _NumberKind(metadata.general_desc), (
        _NumberKind(metadata.mobile),
        _NumberKind(metadata.fixed_line),
    )


def _surely_valid_dutch(national: str) -> bool:
    """phonenumbers' ``is_valid_number`` in short for the common Dutch numbers: a number that
    fits the country's general pattern and its mobile or fixed-line one (the library's own
    patterns and lengths) is valid. False means "ask the library", not "invalid"."""
    general, common = _dutch_kinds()
    return general.fits(national) and any(kind.fits(national) for kind in common)


def parse_phone(raw: str) -> str | None:
    """Any phone number, Dutch unless it says otherwise; stored in E.164 form."""
    value = raw.strip()
    if not value:
        return None
    dutch = _DUTCH_PHONE.fullmatch(value.replace(" ", "").replace("-", ""))
    if dutch is not None:  # 06-12345678, +31 6 12345678, 0031 20 1234567
        if _surely_valid_dutch(dutch[1]):
            return "+31" + dutch[1]
        number = phonenumbers.PhoneNumber(country_code=31, national_number=int(dutch[1]))
        if phonenumbers.is_valid_number(number):
            return "+31" + dutch[1]
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
            _l("Gender must be one of: female, male, nonbinary, unknown (or v, m, x, onbekend)."),
        ) from None


def parse_student_number(raw: str) -> str:
    """A student number as a graduate types it at /join (the import takes the school's own)."""
    value = raw.strip()
    if not value:
        raise InvalidValue("missing-student-number", _l("The student number is missing."))
    if len(value) > MAX_STUDENT_NUMBER or not value.isprintable():
        raise InvalidValue(
            "invalid-student-number",
            _l(
                "A student number has at most %(max)d letters and digits.",
                max=MAX_STUDENT_NUMBER,
            ),
        )
    return value


def parse_date_of_birth(raw: str, today: date | None = None) -> date:
    """ISO (1999-03-31) or Dutch (31-03-1999 or 31/03/1999) dates."""
    value = raw.strip()
    if not value:
        raise InvalidValue("missing-date-of-birth", _l("The date of birth is missing."))
    born = _read_date(value)
    if born is None:
        raise InvalidValue(
            "invalid-date-of-birth", _l("Write the date of birth as 2001-03-31 or 31-03-2001.")
        )
    today = today or date.today()
    youngest = date(today.year - YOUNGEST_GRADUATE_AGE, today.month, min(today.day, 28))
    if born.year < OLDEST_BIRTH_YEAR or born > youngest:
        raise InvalidValue("implausible-date-of-birth", _l("This date of birth is not plausible."))
    return born


def _read_date(value: str) -> date | None:
    """ISO or Dutch date, or None; the regular expressions spare ``strptime`` (slow)."""
    iso, dutch = _ISO_DATE.fullmatch(value), _DUTCH_DATE.fullmatch(value)
    try:
        if iso is not None:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if dutch is not None:
            return date(int(dutch[4]), int(dutch[3]), int(dutch[1]))
    except ValueError:
        pass  # e.g. 31-02-2001: strptime decides
    for form in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    return None


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
