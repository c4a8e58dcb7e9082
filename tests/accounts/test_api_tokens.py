"""API tokens in the domain: named, expiring, refused with a named reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alumni.accounts.api_tokens import (
    DEFAULT_DAYS,
    TokenError,
    TokenRefusal,
    authenticate_token,
    check_token,
    create_token,
    revoke_token,
)
from alumni.extensions import db
from alumni.models import utcnow
from tests.support.factories import make_staff


def test_a_token_lives_90_days_by_default(app):
    token, raw = create_token(make_staff("officer"), name="script")
    db.session.commit()

    assert DEFAULT_DAYS == 90
    assert timedelta(days=89, hours=23) < token.expires_at - utcnow() <= timedelta(days=90)
    assert check_token(raw).refusal is None


def test_an_expired_token_is_refused_as_expired(app):
    staff = make_staff("officer")
    token, raw = create_token(staff, name="script", days=1)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    check = check_token(raw)

    assert check.refusal is TokenRefusal.EXPIRED
    assert check.staff is None
    assert authenticate_token(raw) is None


def test_a_token_of_a_switched_off_account_stops_at_once(app):
    staff = make_staff("officer")
    _, raw = create_token(staff, name="script")
    db.session.commit()
    assert authenticate_token(raw) is not None

    staff.active = False
    db.session.commit()

    assert check_token(raw).refusal is TokenRefusal.INACTIVE
    assert authenticate_token(raw) is None


@pytest.mark.parametrize(
    ("raw", "refusal"), [(None, TokenRefusal.MISSING), ("", TokenRefusal.MISSING), ("x", "unknown")]
)
def test_missing_and_unknown(app, raw, refusal):
    assert check_token(raw).refusal == refusal


def test_a_revoked_token_is_refused_as_revoked(app):
    token, raw = create_token(make_staff("officer"), name="script")
    revoke_token(token)
    db.session.commit()

    assert check_token(raw).refusal is TokenRefusal.REVOKED


@pytest.mark.parametrize(
    ("name", "days", "code"),
    [
        ("", None, "name-required"),
        ("   ", None, "name-required"),
        ("x" * 101, None, "name-too-long"),
        ("a\x00b", None, "name-control"),
        ("ok", 0, "days-out-of-range"),
        ("ok", 366, "days-out-of-range"),
    ],
)
def test_a_token_asked_for_wrongly_is_refused(app, name, days, code):
    with pytest.raises(TokenError) as refused:
        create_token(make_staff("officer"), name=name, days=days)

    assert refused.value.code == code


def test_a_name_is_one_line(app):
    token, _ = create_token(make_staff("officer"), name="  nightly\n report  ")

    assert token.name == "nightly report"


@pytest.mark.parametrize("config_overrides", [{"API_TOKEN_MAX_DAYS": 30}])
def test_the_default_is_cut_to_the_maximum(app, config_overrides):
    token, _ = create_token(make_staff("officer"), name="script")

    assert token.expires_at - utcnow() <= timedelta(days=30)
