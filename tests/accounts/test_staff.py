"""Staff accounts: the password rule, and logins whose refusals name their reason."""

from __future__ import annotations

import pytest

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
