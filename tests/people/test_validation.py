"""The rules for the personal fields (alumni/validation.py), shared by the importer and the forms.

Each parser returns the clean value or raises ``InvalidValue`` with a stable code. The parsers need
no app; only turning a message into text does (lazy, translated strings), so just that test takes
the ``app`` fixture. The fast paths for common emails, Dutch phone numbers and dates are checked
against the libraries they stand in for.
"""

from __future__ import annotations

from datetime import date, datetime

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from alumni.models import Gender
from alumni.people.validation import (
    GENDER_ALIASES,
    MAX_NAME,
    MAX_PROGRAMME,
    InvalidValue,
    parse_date_of_birth,
    parse_email,
    parse_gender,
    parse_graduation_year,
    parse_name,
    parse_phone,
    parse_programme,
)

TODAY = date(2026, 6, 15)  # graduation years up to 2027; born on 15 June 2014 at the latest


def code_of(parse, raw: str, **kwargs) -> str:
    with pytest.raises(InvalidValue) as refused:
        parse(raw, **kwargs)
    return refused.value.code


# -- names and programme -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Anna", "Anna"),
        ("  Anna  ", "Anna"),
        ("Anna  Maria\tde\u00a0Vries", "Anna Maria de Vries"),
        ("Zoë", "Zoë"),
        ("Ngũgĩ", "Ngũgĩ"),
        ("x" * MAX_NAME, "x" * MAX_NAME),
    ],
)
def test_a_name_is_trimmed_and_its_spaces_collapsed(raw, clean):
    assert parse_name(raw, code="missing-first-name") == clean


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_a_required_name_that_is_empty_is_refused_with_the_callers_code(raw):
    assert code_of(parse_name, raw, code="missing-last-name") == "missing-last-name"


@pytest.mark.parametrize("raw", ["", "   "])
def test_an_optional_name_may_be_empty(raw):
    assert parse_name(raw, code="invalid-preferred-name", required=False) is None


def test_a_name_longer_than_the_column_is_refused():
    raw = "x" * (MAX_NAME + 1)
    assert code_of(parse_name, raw, code="invalid-preferred-name", required=False) == (
        "invalid-preferred-name"
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Software Developer", "Software Developer"),
        (" Mediavormgeving\nniveau 4 ", "Mediavormgeving niveau 4"),
        ("p" * MAX_PROGRAMME, "p" * MAX_PROGRAMME),
    ],
)
def test_a_programme_is_trimmed_and_its_spaces_collapsed(raw, clean):
    assert parse_programme(raw) == clean


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "missing-programme"), ("  ", "missing-programme"), ("p" * 201, "invalid-programme")],
)
def test_a_missing_or_too_long_programme_is_refused(raw, code):
    assert code_of(parse_programme, raw) == code


# -- email -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("anna@example.com", "anna@example.com"),
        ("Anna.De.Vries@Example.COM", "anna.de.vries@example.com"),
        ("  bram@example.org  ", "bram@example.org"),
        ("o'brien+alumni@example.nl", "o'brien+alumni@example.nl"),
        ("jan@mail.example.co.uk", "jan@mail.example.co.uk"),
        ("POSTMASTER@Example.com", "postmaster@example.com"),
        ("zoë@example.com", "zoë@example.com"),
        ("info@Bücher.example", "info@bücher.example"),
        ("info@xn--bcher-kva.example", "info@bücher.example"),  # Punycode comes back readable
    ],
)
def test_a_valid_email_is_normalised_to_lower_case(raw, clean):
    assert parse_email(raw) == clean


@pytest.mark.parametrize(
    "raw",
    [
        "anna",
        "anna@",
        "@example.com",
        "anna@@example.com",
        "anna@example",  # no dot: not deliverable
        "anna@123.456",  # no top-level domain ends in a digit
        ".anna@example.com",
        "anna.@example.com",
        "anna..de.vries@example.com",
        "anna@example..com",
        "anna@example.com.",
        "anna@-example.com",
        "anna@ex--ample.com",  # reserved label form
        "anna de vries@example.com",
        "anna@exa mple.com",
        "Anna <anna@example.com>",
        '"anna b"@example.com',
        "anna@localhost",
        "anna@host.invalid",
        "anna@school.local",
        "anna@" + "a" * 64 + ".com",  # a label of 64 characters
        "a" * 243 + "@example.com",  # 255 characters: one too many
    ],
)
def test_an_invalid_email_is_refused(raw):
    assert code_of(parse_email, raw) == "invalid-email"


@pytest.mark.parametrize("raw", ["", "   "])
def test_a_missing_email_is_refused(raw):
    assert code_of(parse_email, raw) == "missing-email"


def library_email(raw: str) -> str:
    """parse_email as the library alone would answer: the clean address or the code."""
    value = raw.strip()
    if not value:
        return "missing-email"
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return "invalid-email"


def our_email(raw: str) -> str:
    try:
        return parse_email(raw)
    except InvalidValue as invalid:
        return invalid.code


ATEXT = "abcXYZ019.!#$%&'*+/=?^_`{|}~-"
LABEL = st.text(alphabet="abcxyzABC019-", min_size=1, max_size=70)
ADDRESSES = st.one_of(
    st.builds(
        lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
        st.text(alphabet=ATEXT, min_size=1, max_size=70),
        st.lists(LABEL, min_size=1, max_size=4),
        st.sampled_from(["com", "NL", "example", "test", "local", "invalid", "c0m", "x", "onion"]),
    ),
    st.text(alphabet=ATEXT + '@ "<>()[]\\,;:ëü\u00a0', max_size=80),
)


@settings(max_examples=400, deadline=None)
@given(raw=ADDRESSES)
def test_parse_email_answers_what_the_email_validator_library_answers(raw):
    assert our_email(raw) == library_email(raw)


# -- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("06-12345678", "+31612345678"),
        ("06 1234 5678", "+31612345678"),
        ("0612345678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("+31612345678", "+31612345678"),
        ("0031 6 12345678", "+31612345678"),
        ("+31 (0)6 12345678", "+31612345678"),
        ("+31 06 12345678", "+31612345678"),
        ("+31 0800 12345", "+3180012345"),  # the 0 after +31 is dropped, also for toll-free
        ("0800-1234", "+318001234"),
        ("020-1234567", "+31201234567"),
        ("(020) 123 4567", "+31201234567"),
        ("+31 20 123 4567", "+31201234567"),
        ("085-1234567", "+31851234567"),
        ("+32 470 12 34 56", "+32470123456"),  # a Belgian mobile stays Belgian
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_a_phone_number_is_stored_in_e164_form(raw, clean):
    assert parse_phone(raw) == clean


@pytest.mark.parametrize("raw", ["", "   "])
def test_the_phone_number_is_optional(raw):
    assert parse_phone(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "12345",
        "06-1234567",  # a digit short
        "06-123456789",  # a digit too many
        "+31 6 1234567",
        "+31 6 123456789",
        "06-1234567a",
        "phone",
        "+999 12345678",  # no such country code
    ],
)
def test_an_invalid_phone_number_is_refused(raw):
    assert code_of(parse_phone, raw) == "invalid-phone"


def library_phone(raw: str) -> str | None:
    """parse_phone as phonenumbers alone would answer."""
    value = raw.strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, "NL")
    except phonenumbers.NumberParseException:
        return "invalid-phone"
    if not phonenumbers.is_valid_number(number):
        return "invalid-phone"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def our_phone(raw: str) -> str | None:
    try:
        return parse_phone(raw)
    except InvalidValue as invalid:
        return invalid.code


NATIONAL_NUMBERS = st.one_of(
    st.from_regex(r"6[1-58][0-9]{7}", fullmatch=True),  # mobile
    st.from_regex(r"[1-9][0-9]{8}", fullmatch=True),  # mostly landlines
    st.text(alphabet="0123456789", min_size=7, max_size=11),
)
DUTCH_LIKE_NUMBERS = st.builds(
    lambda prefix, digits, gap, at: prefix + digits[:at] + gap + digits[at:],
    st.sampled_from(["0", "+31", "0031", "+31 ", "0031 ", "+310", "+31 0", "00", "", "+32"]),
    NATIONAL_NUMBERS,
    st.sampled_from(["", " ", "-", "  ", "."]),
    st.integers(0, 11),
)


@settings(max_examples=600, deadline=None)
@given(raw=DUTCH_LIKE_NUMBERS)
def test_parse_phone_answers_what_phonenumbers_answers(raw):
    assert our_phone(raw) == library_phone(raw)


# -- gender ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "gender"), sorted(GENDER_ALIASES.items()))
def test_every_gender_alias_is_understood(raw, gender):
    assert parse_gender(raw) is gender


@pytest.mark.parametrize(
    ("raw", "gender"),
    [
        (" V ", Gender.FEMALE),
        ("Vrouw", Gender.FEMALE),
        ("MAN", Gender.MALE),
        ("M", Gender.MALE),
        ("Non-Binair", Gender.NONBINARY),
        ("X", Gender.NONBINARY),
        ("Onbekend", Gender.UNKNOWN),
        ("   ", Gender.UNKNOWN),
    ],
)
def test_gender_ignores_case_and_surrounding_spaces(raw, gender):
    assert parse_gender(raw) is gender


def test_the_dutch_and_english_spreadsheet_codes_are_aliases():
    assert {"v", "vrouw", "m", "man", "x", "onbekend"} <= set(GENDER_ALIASES)
    assert {gender.value for gender in Gender} <= set(GENDER_ALIASES)


@pytest.mark.parametrize("raw", ["q", "vrouwelijk", "mannelijk", "2", "zeg ik liever niet", "f m"])
def test_an_unknown_gender_is_refused(raw):
    assert code_of(parse_gender, raw) == "invalid-gender"


# -- date of birth -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "born"),
    [
        ("31-03-2001", date(2001, 3, 31)),  # Dutch
        ("31/03/2001", date(2001, 3, 31)),
        ("2001-03-31", date(2001, 3, 31)),  # ISO
        (" 01-01-2000 ", date(2000, 1, 1)),
        ("1-3-2001", date(2001, 3, 1)),
        ("29-02-2004", date(2004, 2, 29)),  # a leap day
        ("01-01-1900", date(1900, 1, 1)),  # the oldest plausible
        ("15-06-2014", date(2014, 6, 15)),  # twelve today: the youngest plausible
    ],
)
def test_a_date_of_birth_is_read_in_dutch_or_iso_form(raw, born):
    assert parse_date_of_birth(raw, TODAY) == born


@pytest.mark.parametrize(
    "raw",
    [
        "31.03.2001",
        "2001/03/31",
        "31-13-2001",  # no 13th month
        "30-02-2001",
        "29-02-2001",  # not a leap year
        "03-31-2001",  # American order
        "31 maart 2001",
        "2001-3",
        "310301",
        "gisteren",
    ],
)
def test_a_date_of_birth_in_another_form_is_refused(raw):
    assert code_of(parse_date_of_birth, raw, today=TODAY) == "invalid-date-of-birth"


@pytest.mark.parametrize(
    "raw",
    [
        "31-12-1899",
        "1850-06-01",
        "16-06-2014",  # eleven years old today
        "01-01-2026",
        "01-01-2030",  # in the future
    ],
)
def test_an_implausible_date_of_birth_is_refused(raw):
    assert code_of(parse_date_of_birth, raw, today=TODAY) == "implausible-date-of-birth"


@pytest.mark.parametrize("raw", ["", "   "])
def test_a_missing_date_of_birth_is_refused(raw):
    assert code_of(parse_date_of_birth, raw, today=TODAY) == "missing-date-of-birth"


def test_the_date_of_birth_is_judged_against_today_by_default():
    assert parse_date_of_birth("01-01-2000") == date(2000, 1, 1)
    next_year = f"01-01-{date.today().year + 1}"
    assert code_of(parse_date_of_birth, next_year) == "implausible-date-of-birth"


def library_date_of_birth(raw: str) -> date | str:
    """What parse_date_of_birth answers when strptime alone reads the date (no fast path)."""
    for form in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            born = datetime.strptime(raw.strip(), form).date()
            break
        except ValueError:
            continue
    else:
        return "invalid-date-of-birth"
    if born.year < 1900 or born > date(2014, 6, 15):
        return "implausible-date-of-birth"
    return born


def our_date_of_birth(raw: str) -> date | str:
    try:
        return parse_date_of_birth(raw, TODAY)
    except InvalidValue as invalid:
        return invalid.code


DATES = st.builds(
    lambda day, month, year, form: form.format(d=day, m=month, y=year),
    st.integers(0, 32),
    st.integers(0, 13),
    st.integers(1890, 2030),
    st.sampled_from(
        [
            "{d:02d}-{m:02d}-{y}",
            "{d:02d}/{m:02d}/{y}",
            "{y}-{m:02d}-{d:02d}",
            "{d}-{m}-{y}",
            "{y}-{m}-{d}",
            "{d:02d}-{m:02d}/{y}",
            "{y:05d}-{m:02d}-{d:02d}",
        ]
    ),
)


@settings(max_examples=400, deadline=None)
@given(raw=DATES)
def test_dates_are_read_as_strptime_reads_them(raw):
    assert our_date_of_birth(raw) == library_date_of_birth(raw)


# -- graduation year ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "year"), [("1950", 1950), ("2022", 2022), (" 2027 ", 2027), ("2026", 2026)]
)
def test_a_graduation_year_from_1950_to_next_year_is_accepted(raw, year):
    assert parse_graduation_year(raw, TODAY) == year


@pytest.mark.parametrize("raw", ["1949", "2028", "22", "0", "-2022", "2022.0", "twintig", "20 22"])
def test_a_graduation_year_out_of_range_or_not_a_year_is_refused(raw):
    assert code_of(parse_graduation_year, raw, today=TODAY) == "invalid-graduation-year"


def test_next_years_graduates_can_be_imported_but_not_the_year_after():
    next_year = date.today().year + 1
    assert parse_graduation_year(str(next_year)) == next_year
    assert code_of(parse_graduation_year, str(next_year + 1)) == "invalid-graduation-year"


@pytest.mark.parametrize("raw", ["", "  "])
def test_a_missing_graduation_year_is_refused(raw):
    assert code_of(parse_graduation_year, raw, today=TODAY) == "missing-graduation-year"


# -- messages ----------------------------------------------------------------------------------


def test_every_refusal_has_a_message_that_renders(app):
    """Messages are lazy: a bad placeholder would only show when someone reads one."""
    refusals = [
        (parse_name, "", {"code": "missing-first-name"}),
        (parse_name, "x" * 101, {"code": "invalid-preferred-name"}),
        (parse_programme, "", {}),
        (parse_programme, "p" * 201, {}),
        (parse_email, "", {}),
        (parse_email, "anna@", {}),
        (parse_phone, "12345", {}),
        (parse_gender, "q", {}),
        (parse_date_of_birth, "", {}),
        (parse_date_of_birth, "31.03.2001", {}),
        (parse_date_of_birth, "1850-01-01", {}),
        (parse_graduation_year, "", {}),
        (parse_graduation_year, "1949", {"today": TODAY}),
    ]
    texts = []
    for parse, raw, kwargs in refusals:
        with pytest.raises(InvalidValue) as refused:
            parse(raw, **kwargs)
        texts.append(str(refused.value))
    assert all(text and "%(" not in text for text in texts), texts
    assert str(MAX_NAME) in texts[1] and str(MAX_PROGRAMME) in texts[3]
    assert "1950" in texts[-1] and "2027" in texts[-1]  # the bounds, in any language
