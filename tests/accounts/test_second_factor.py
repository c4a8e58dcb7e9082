"""The second factor's domain: TOTP codes once only, recovery codes single-use and hashed,
who needs one, the summary, and an admin's reset."""

from __future__ import annotations

import hashlib
import time

import pyotp
import pytest
import sqlalchemy as sa

from alumni.accounts import second_factor as factors
from alumni.extensions import db
from alumni.models import AuditEntry, RecoveryCode, Role
from tests.conftest import finish_jobs
from tests.support.factories import STAFF_TOTP_SECRET, make_staff


@pytest.fixture
def config_overrides():
    return {"BABEL_DEFAULT_LOCALE": "en"}


def code_at(counter: int, secret: str = STAFF_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).generate_otp(counter)


def now_counter() -> int:
    return int(time.time() // 30)


def refusal_of(call) -> factors.SecondFactorRefusal:
    with pytest.raises(factors.SecondFactorError) as caught:
        call()
    return caught.value.refusal


# -- TOTP -------------------------------------------------------------------------------------


def test_a_current_code_is_accepted_once_and_replay_is_refused(app):
    staff = make_staff("officer")
    code = code_at(now_counter())
    factors.verify_totp(staff, code)
    db.session.commit()
    assert staff.totp_last_counter == now_counter()
    assert refusal_of(lambda: factors.verify_totp(staff, code)) == "replayed-code"


def test_an_earlier_step_is_refused_after_a_later_one(app):
    staff = make_staff("officer")
    factors.verify_totp(staff, code_at(now_counter() + 1))
    assert refusal_of(lambda: factors.verify_totp(staff, code_at(now_counter()))) == (
        "replayed-code"
    )


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_the_neighbouring_steps_count(app, offset):
    staff = make_staff("officer")
    factors.verify_totp(staff, code_at(now_counter() + offset))


@pytest.mark.parametrize("code", ["000000", "12345", "abcdef", "", "1234567"])
def test_a_wrong_code_is_refused(app, code):
    staff = make_staff("officer")
    if code == "000000" and code_at(now_counter()) == code:
        pytest.skip("the rare step whose code is 000000")
    assert refusal_of(lambda: factors.verify_totp(staff, code)) == "wrong-code"


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(app, offset):
    staff = make_staff("officer")
    code = code_at(now_counter() + offset)
    assert refusal_of(lambda: factors.verify_totp(staff, code)) == "wrong-code"


def test_an_account_without_totp_accepts_no_code(app):
    staff = make_staff("officer", totp_secret=None)
    assert refusal_of(lambda: factors.verify_totp(staff, code_at(now_counter()))) == "wrong-code"


def test_enrolment_needs_a_code_of_the_new_key(app):
    staff = make_staff("officer", totp_secret=None)
    secret = factors.new_totp_secret()
    assert len(secret) == 32
    assert refusal_of(lambda: factors.enrol_totp(staff, secret, code_at(now_counter()))) == (
        "wrong-code"
    )
    factors.enrol_totp(staff, secret, code_at(now_counter(), secret))
    assert staff.totp_secret == secret
    # The code that proved the key is spent too.
    code = code_at(now_counter(), secret)
    assert refusal_of(lambda: factors.verify_totp(staff, code)) == "replayed-code"


def test_the_qr_code_is_inline_svg_without_style_or_script(app):
    svg = str(factors.qr_svg("otpauth://totp/x:y?secret=ABC&issuer=x"))
    assert svg.startswith("<svg")
    assert "<script" not in svg and "style=" not in svg and "data:" not in svg


# -- recovery codes ---------------------------------------------------------------------------


def test_ten_recovery_codes_stored_hashed_each_once(app):
    staff = make_staff("officer")
    codes = factors.new_recovery_codes(staff)
    db.session.commit()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code.replace("-", "")) == 16 for code in codes)
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert not set(codes) & set(stored)
    salts = {value.partition("$")[0] for value in stored}
    assert len(salts) == 10 and all(len(salt) == 32 for salt in salts)  # 128 bits each
    assert not any(
        hashlib.sha256(code.replace("-", "").encode()).hexdigest() in value
        for code in codes
        for value in stored
    )  # never unsalted

    assert factors.verify_code(staff, codes[0].lower()) == "recovery-code"
    assert refusal_of(lambda: factors.verify_code(staff, codes[0])) == "wrong-recovery-code"
    assert factors.recovery_codes_left(staff) == 9


def test_new_recovery_codes_replace_the_old(app):
    staff = make_staff("officer")
    old = factors.new_recovery_codes(staff)
    factors.new_recovery_codes(staff)
    assert refusal_of(lambda: factors.use_recovery_code(staff, old[1])) == "wrong-recovery-code"
    assert factors.recovery_codes_left(staff) == 10


def test_a_recovery_code_of_another_account_is_refused(app):
    staff, other = make_staff("officer"), make_staff("officer")
    codes = factors.new_recovery_codes(other)
    assert refusal_of(lambda: factors.use_recovery_code(staff, codes[0])) == "wrong-recovery-code"


# -- who needs what, and the summary ----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "researcher_setting", "needed"),
    [
        ("admin", False, True),
        ("officer", False, True),
        ("researcher", True, True),
        ("researcher", False, False),
    ],
)
def test_who_needs_a_second_factor(app, role, researcher_setting, needed):
    staff = make_staff(role, totp_secret=None)
    config = {"STAFF_SECOND_FACTOR_RESEARCHER": researcher_setting}
    assert factors.required(staff, config) is needed
    assert factors.needs_enrolment(staff, config) is needed


def test_the_summary(app):
    from alumni.models import Passkey

    staff = make_staff("officer", totp_secret=None)
    assert factors.summary(staff) == "none"
    staff.totp_secret = STAFF_TOTP_SECRET
    assert factors.summary(staff) == "TOTP"
    for number in (1, 2):
        staff.passkeys.append(
            Passkey(credential_id=f"id{number}", public_key=b"k", sign_count=0, name="key")
        )
    db.session.commit()
    assert factors.summary(staff) == "TOTP + 2 passkeys"


# -- an admin's reset -------------------------------------------------------------------------


def test_a_reset_forgets_every_factor_ends_sessions_audits_and_mails(app, outbox):
    admin = make_staff("admin")
    staff = make_staff("officer", email="officer@school.example")
    factors.new_recovery_codes(staff)
    token = staff.session_token
    factors.reset_second_factor(staff, actor=f"staff:{admin.id}")
    assert not outbox  # after the commit, never before
    db.session.commit()
    finish_jobs(app)
    assert staff.totp_secret is None and staff.session_token != token
    assert not factors.enrolled(staff)
    assert factors.recovery_codes_left(staff) == 0
    assert factors.needs_enrolment(staff, app.config)
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "staff.second_factor.reset")
    ).one()
    assert entry.actor == f"staff:{admin.id}"
    assert entry.details == {"staff_id": staff.id}
    [message] = outbox
    assert message["To"] == "officer@school.example"
    body = message.get_body(("plain",)).get_content()
    assert "reset the second factor" in body and "logged out everywhere" in body


def test_a_reset_rolled_back_sends_nothing(app, outbox):
    staff = make_staff("officer")
    factors.reset_second_factor(staff, actor="cli")
    db.session.rollback()
    finish_jobs(app)
    assert not outbox
    db.session.refresh(staff)
    assert staff.totp_secret == STAFF_TOTP_SECRET
    assert staff.role is Role.OFFICER
