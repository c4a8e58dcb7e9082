"""``staff create``, ``staff token``, ``staff revoke-token`` and ``staff list``; bearer tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from alumni.accounts.access import authenticate_bearer, authenticate_token, may
from alumni.extensions import db
from alumni.models import ApiToken, AuditEntry, Role, StaffUser, utcnow
from tests.support.factories import make_staff

PASSWORD = "a long enough passphrase"


@pytest.fixture
def config_overrides():
    return {"BABEL_DEFAULT_LOCALE": "en"}  # the tests read the English texts


def staff_named(email: str) -> StaffUser | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))


def audit_actions() -> list[tuple[str, str, dict]]:
    db.session.expire_all()
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
    return [(entry.actor, entry.action, entry.details) for entry in entries]


def make_token(runner, email: str) -> str:
    result = runner.invoke(args=["staff", "token", email])
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip("\n").splitlines()[-1]


# -- staff create -----------------------------------------------------------------------------


def test_create_asks_the_password_twice(app, runner):
    result = runner.invoke(
        args=["staff", "create", "New.Officer@School.example", "--role", "officer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input
    staff = staff_named("new.officer@school.example")
    assert staff.role is Role.OFFICER
    assert staff.active
    assert staff.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(staff.password_hash, PASSWORD)
    assert ("cli", "staff.created", {"staff_id": staff.id, "role": "officer"}) in audit_actions()


def test_create_refuses_two_different_passwords(app, runner):
    result = runner.invoke(
        args=["staff", "create", "new@school.example", "--role", "admin"],
        input=f"{PASSWORD}\nsomething else entirely\n",
    )
    assert result.exit_code != 0
    assert staff_named("new@school.example") is None


def test_create_reads_the_password_from_stdin(app, runner):
    args = ["staff", "create", "researcher@school.example", "--role", "researcher"]
    result = runner.invoke(args=[*args, "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    staff = staff_named("researcher@school.example")
    assert staff.role is Role.RESEARCHER
    assert PasswordHasher().verify(staff.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["taken@school.example", "--role", "officer"], PASSWORD, "exists already"),
        (["new@school.example", "--role", "officer"], "too short", "at least 12 characters"),
        (["new@school.example", "--role", "officer"], "password1234", "too easy to guess"),
        (["new.person@school.example", "--role", "officer"], "newperson2025", "email address"),
        (["new@school.example", "--role", "boss"], PASSWORD, "'boss' is not one of"),
        (["not an address", "--role", "officer"], PASSWORD, "not a valid email address"),
    ],
)
def test_create_refusals(app, runner, args, password, message):
    make_staff("admin", email="taken@school.example")
    result = runner.invoke(
        args=["staff", "create", *args, "--password-stdin"], input=f"{password}\n"
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 1


# -- staff token ------------------------------------------------------------------------------


def test_token_is_printed_alone_on_the_last_line_and_stored_hashed(app, runner):
    officer = make_staff("officer", email="officer@school.example")
    raw = make_token(runner, "officer@school.example")
    assert len(raw) >= 40 and " " not in raw
    [token] = db.session.scalars(sa.select(ApiToken)).all()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in token.token_hash
    assert authenticate_token(raw).id == officer.id
    assert (
        "cli",
        "staff.token_created",
        {"staff_id": officer.id, "token_id": token.id, "days": 90},
    ) in audit_actions()


def test_token_carries_the_role_of_its_staff_member(app, runner):
    make_staff("researcher", email="researcher@school.example")
    staff = authenticate_token(make_token(runner, "researcher@school.example"))
    assert staff.role is Role.RESEARCHER
    assert not may(staff, Role.OFFICER)
    assert may(staff, Role.RESEARCHER)


def test_token_for_an_unknown_address_fails(app, runner):
    result = runner.invoke(args=["staff", "token", "nobody@school.example"])
    assert result.exit_code == 1
    assert "No staff account" in result.output
    assert db.session.scalars(sa.select(ApiToken)).all() == []


def test_revoked_token_is_refused(app, runner):
    make_staff("officer", email="officer@school.example")
    raw = make_token(runner, "officer@school.example")
    token_id = db.session.scalar(sa.select(ApiToken.id))
    result = runner.invoke(args=["staff", "revoke-token", str(token_id)])
    assert result.exit_code == 0, result.output
    assert authenticate_token(raw) is None
    assert authenticate_bearer(f"Bearer {raw}") is None
    actions = [action for _, action, _ in audit_actions()]
    assert actions.count("staff.token_revoked") == 1


def test_revoke_every_token_of_one_staff_member(app, runner):
    make_staff("officer", email="officer@school.example")
    make_staff("officer", email="colleague@school.example")
    first = make_token(runner, "officer@school.example")
    second = make_token(runner, "officer@school.example")
    other = make_token(runner, "colleague@school.example")
    result = runner.invoke(args=["staff", "revoke-token", "--all-of", "officer@school.example"])
    assert result.exit_code == 0, result.output
    assert "Tokens revoked: 2." in result.output
    assert authenticate_token(first) is None
    assert authenticate_token(second) is None
    assert authenticate_token(other) is not None


def test_revoke_token_needs_exactly_one_target(app, runner):
    result = runner.invoke(args=["staff", "revoke-token"])
    assert result.exit_code == 1
    result = runner.invoke(args=["staff", "revoke-token", "999"])
    assert result.exit_code == 1
    assert "no API token" in result.output


def test_token_of_an_inactive_staff_member_is_refused(app, runner):
    officer = make_staff("officer", email="officer@school.example")
    raw = make_token(runner, "officer@school.example")
    officer.active = False
    db.session.commit()
    assert authenticate_token(raw) is None
    assert runner.invoke(args=["staff", "token", "officer@school.example"]).exit_code == 1


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer wrong"])
def test_bearer_header_without_a_valid_token_is_refused(app, runner, header):
    make_staff("officer", email="officer@school.example")
    make_token(runner, "officer@school.example")
    assert authenticate_bearer(header) is None


def test_bearer_header_with_a_token(app, runner):
    officer = make_staff("officer", email="officer@school.example")
    raw = make_token(runner, "officer@school.example")
    assert authenticate_bearer(f"Bearer {raw}").id == officer.id
    assert authenticate_bearer(f"bearer  {raw} ").id == officer.id


def test_last_use_is_written_at_most_once_a_minute(app, runner):
    make_staff("officer", email="officer@school.example")
    raw = make_token(runner, "officer@school.example")
    token = db.session.scalar(sa.select(ApiToken))
    assert token.last_used_at is None
    authenticate_token(raw)
    first_use = token.last_used_at
    assert first_use is not None
    authenticate_token(raw)
    assert token.last_used_at == first_use
    token.last_used_at = first_use - timedelta(minutes=2)
    db.session.commit()
    authenticate_token(raw)
    assert token.last_used_at > first_use - timedelta(minutes=2)


# -- staff list -------------------------------------------------------------------------------


def test_list_shows_accounts_roles_and_token_ids_but_no_secrets(app, runner):
    admin = make_staff("admin", email="admin@school.example")
    make_staff("researcher", email="researcher@school.example", active=False)
    raw = make_token(runner, "admin@school.example")
    result = runner.invoke(args=["staff", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{admin.id} admin@school.example role=admin active=yes")
    assert lines[0].endswith("tokens=1")
    assert "role=researcher active=no" in lines[1]
    assert raw not in result.output
    assert admin.password_hash not in result.output


# -- invite, role, deactivate, reactivate -------------------------------------------------------


def test_invite_makes_an_account_that_waits_for_its_password(app, runner, outbox):
    from tests.conftest import finish_jobs

    result = runner.invoke(args=["staff", "invite", "new@school.example", "--role", "officer"])
    assert result.exit_code == 0, result.output
    staff = staff_named("new@school.example")
    assert staff.role is Role.OFFICER and staff.invited_at is not None
    finish_jobs(app)
    [mail] = outbox
    assert "/staff/welcome/" in mail.get_body(preferencelist=("plain",)).get_content()
    assert ("cli", "staff.invited", {"staff_id": staff.id, "role": "officer"}) in audit_actions()
    listed = runner.invoke(args=["staff", "list"]).output
    assert "new@school.example role=officer active=invited" in listed


def test_invite_refuses_an_existing_account(app, runner):
    make_staff("officer", email="officer@school.example")
    result = runner.invoke(args=["staff", "invite", "officer@school.example", "--role", "admin"])
    assert result.exit_code == 1
    assert "exists already" in result.output


def test_role_deactivate_and_reactivate(app, runner):
    make_staff("admin", email="admin@school.example")
    staff = make_staff("officer", email="officer@school.example")
    token = make_token(runner, "officer@school.example")
    session_token = staff.session_token

    assert runner.invoke(args=["staff", "role", "officer@school.example", "admin"]).exit_code == 0
    staff = staff_named("officer@school.example")
    assert staff.role is Role.ADMIN and staff.session_token != session_token

    assert runner.invoke(args=["staff", "deactivate", "officer@school.example"]).exit_code == 0
    assert not staff_named("officer@school.example").active
    assert authenticate_token(token) is None
    result = runner.invoke(args=["staff", "deactivate", "officer@school.example"])
    assert "switched off already" in result.output

    assert runner.invoke(args=["staff", "reactivate", "officer@school.example"]).exit_code == 0
    assert staff_named("officer@school.example").active
    assert authenticate_token(token) is None  # revoked at the deactivation
    steps = ("staff.role_changed", "staff.deactivated", "staff.reactivated")
    assert [action for _, action, _ in audit_actions() if action in steps] == list(steps)


def test_the_last_active_admin_stays(app, runner):
    make_staff("admin", email="admin@school.example")
    for args in (
        ["deactivate", "admin@school.example"],
        ["role", "admin@school.example", "officer"],
    ):
        result = runner.invoke(args=["staff", *args])
        assert result.exit_code == 1
        assert "last active administrator" in result.output
    staff = staff_named("admin@school.example")
    assert staff.active and staff.role is Role.ADMIN


# -- token names, expiry, and the list of tokens ------------------------------------------------


def test_token_with_a_name_and_days(app, runner):
    make_staff("officer", email="officer@school.example")
    result = runner.invoke(
        args=["staff", "token", "officer@school.example", "--name", "nightly report", "--days", "7"]
    )
    assert result.exit_code == 0, result.output
    token = db.session.scalar(sa.select(ApiToken))
    assert token.name == "nightly report"
    assert timedelta(days=6, hours=23) < token.expires_at - utcnow() <= timedelta(days=7)
    assert '"nightly report"' in result.output and "valid until" in result.output


@pytest.mark.parametrize("days", ["0", "366"])
def test_token_beyond_the_maximum_is_refused(app, runner, days):
    make_staff("officer", email="officer@school.example")
    result = runner.invoke(args=["staff", "token", "officer@school.example", "--days", days])
    assert result.exit_code == 1
    assert "from 1 to 365 days" in result.output
    assert db.session.scalars(sa.select(ApiToken)).all() == []


def test_tokens_lists_owner_name_expiry_and_last_use_but_no_secret(app, runner):
    make_staff("officer", email="officer@school.example")
    make_staff("admin", email="admin@school.example")
    raw = make_token(runner, "officer@school.example")
    make_token(runner, "admin@school.example")
    authenticate_token(raw)
    db.session.commit()

    result = runner.invoke(args=["staff", "tokens"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 2
    assert "officer@school.example" in result.output and "admin@school.example" in result.output
    assert "valid until" in result.output and raw not in result.output

    mine = runner.invoke(args=["staff", "tokens", "--of", "officer@school.example"])
    assert mine.output.count("\n") == 1 and "officer@school.example" in mine.output
    assert "last used -" not in mine.output


def test_reset_second_factor_forgets_ends_sessions_audits_and_mails(app, runner, outbox):
    from alumni.accounts.second_factor import enrolled
    from tests.conftest import finish_jobs

    staff = make_staff("officer", email="officer@school.example")
    token = staff.session_token
    result = runner.invoke(args=["staff", "reset-second-factor", "Officer@School.example"])
    assert result.exit_code == 0, result.output
    assert "was reset" in result.output
    finish_jobs(app)
    staff = staff_named("officer@school.example")
    assert not enrolled(staff) and staff.session_token != token
    assert ("cli", "staff.second_factor.reset", {"staff_id": staff.id}) in audit_actions()
    [message] = outbox
    assert message["To"] == "officer@school.example"


def test_reset_second_factor_of_nobody_fails(app, runner):
    result = runner.invoke(args=["staff", "reset-second-factor", "nobody@school.example"])
    assert result.exit_code == 1
    assert "No staff account has this email address." in result.output
