"""Staff accounts: the password rule, and logins whose refusals name their reason."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from alumni.accounts.staff import (
    AccountError,
    LoginRefusal,
    check_login,
    check_new_password,
)
from tests.support.factories import STAFF_PASSWORD, make_staff


@pytest.mark.parametrize(
    ("password", "code"),
    [("kort", "short-password"), ("x" * 11, "short-password"), ("x" * 1025, "long-password")],
)
def test_a_password_outside_the_rule_is_refused_with_its_reason(app, password, code):
    with pytest.raises(AccountError) as refused:
        check_new_password(password)
    assert refused.value.code == code and str(refused.value)


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "aaaaaaaaaaaa",
        "Demo College 2025",  # the organisation's name (ORGANISATION_NAME) plus a year
        "democollege2026",
        "pietersen.marloes1987",  # the email address's local part plus digits
        "marloes12345678",
        "qwertyuiopasdf",
    ],
)
def test_a_guessable_password_is_refused(app, password):
    with pytest.raises(AccountError) as refused:
        check_new_password(password, email="Pietersen.Marloes@school.example")
    assert refused.value.code == "weak-password"


@pytest.mark.parametrize("password", ["kwetterende fietsbel onder de brug", "Xk9#mQ2!pL7vR4"])
def test_a_hard_to_guess_password_is_taken(app, password):
    check_new_password(password, email="pietersen.marloes@school.example")


def test_the_organisation_comes_from_the_configuration(app):
    check_new_password("Sint Bavo Lyceum 2025")  # strong for zxcvbn alone
    app.config["ORGANISATION_NAME"] = "Sint Bavo Lyceum"
    with pytest.raises(AccountError) as refused:
        check_new_password("Sint Bavo Lyceum 2025")
    assert refused.value.code == "weak-password"


def test_the_refusal_says_what_is_wrong_in_the_reader_s_language(app):
    with pytest.raises(AccountError) as refused:
        check_new_password("password1234")
    with app.test_request_context(), force_locale("en"):
        english = str(refused.value)
    assert english == (
        "This password is too easy to guess. It is a very common password. "
        "Add another word or two; uncommon words are better."
    )
    with pytest.raises(AccountError) as refused:
        check_new_password("marloes12345678", email="marloes@school.example")
    with app.test_request_context(), force_locale("nl"):
        dutch = str(refused.value)
    assert dutch.startswith("Dit wachtwoord is te makkelijk te raden.")
    assert "e-mailadres" in dutch


@pytest.mark.parametrize(
    ("email", "password", "active", "refusal"),
    [
        ("staff@school.example", STAFF_PASSWORD, True, None),
        ("STAFF@school.example", STAFF_PASSWORD, True, None),
        ("staff@school.example", "wrong " + STAFF_PASSWORD, True, LoginRefusal.WRONG_PASSWORD),
        ("nobody@school.example", STAFF_PASSWORD, True, LoginRefusal.UNKNOWN_ACCOUNT),
        ("staff@school.example", STAFF_PASSWORD, False, LoginRefusal.INACTIVE),
    ],
)
def test_a_login_is_accepted_or_refused_for_a_named_reason(app, email, password, active, refusal):
    make_staff(email="staff@school.example", active=active)
    result = check_login(email, password)
    assert result.refusal is refusal
    assert result.accepted is (refusal is None)
