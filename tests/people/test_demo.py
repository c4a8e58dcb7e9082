"""``demo``: demo graduates, their invitations, and a demo officer whose login is printed on
every run (``make run`` runs ``demo --if-empty`` on every start)."""

from __future__ import annotations

import logging
import os
import re
import stat

import pytest
import sqlalchemy as sa

from alumni.accounts import staff as accounts
from alumni.extensions import db
from alumni.models import Alumnus, AuditEntry, Role, StaffUser
from alumni.people import demo
from tests.support.factories import make_alumnus
from tests.support.staff import StaffAuth, open_browser


@pytest.fixture
def config_overrides():
    return {"BABEL_DEFAULT_LOCALE": "en"}  # the tests read the English texts


def printed_login(output: str) -> tuple[str, str, str]:
    """The login page, address and password that ``demo`` printed."""
    url = re.search(r"Log in as a demo alumni officer at (\S+)", output).group(1)
    email = re.search(r"^  Email address: (\S+)$", output, re.M).group(1)
    password = re.search(r"^  Password: (\S+)$", output, re.M).group(1)
    return url, email, password


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def run_demo(runner, *args: str) -> str:
    result = runner.invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_prints_an_officer_login_that_logs_in(app, runner, caplog):
    caplog.set_level(logging.DEBUG)
    url, email, password = printed_login(run_demo(runner, "--if-empty"))
    assert url == app.config["BASE_URL"] + "/staff/login"
    assert count(Alumnus) == len(demo.DEMO_GRADUATES)
    assert len(password) >= 20
    result = accounts.check_login(email, password)
    assert result.accepted and result.staff.role is Role.OFFICER
    browser = open_browser(app)
    auth = StaffAuth(browser)
    response = auth.login(email, password)
    # A new account sets up its second factor first, the demo officer too.
    assert response.status_code == 303 and response.headers["Location"] == "/staff/enrol"
    assert auth.enrol_totp().status_code == 200
    assert browser.get("/staff/import").status_code == 200  # an officer's page
    assert password not in caplog.text  # printed for the operator, never logged
    details = db.session.scalars(sa.select(AuditEntry.details)).all()
    assert password not in repr(details)


def test_demo_again_prints_the_same_login_and_creates_nothing(app, runner):
    first = printed_login(run_demo(runner, "--if-empty"))
    people, staff = count(Alumnus), count(StaffUser)
    again = run_demo(runner, "--if-empty")
    assert "no demo data loaded" in again
    assert printed_login(again) == first
    assert (count(Alumnus), count(StaffUser)) == (people, staff) == (len(demo.DEMO_GRADUATES), 1)
    # Without --if-empty too: the graduates are there (the import is idempotent), and so is he.
    assert printed_login(run_demo(runner)) == first
    assert count(StaffUser) == 1


def test_only_the_operator_can_read_the_kept_login(app, runner):
    _, email, password = printed_login(run_demo(runner))
    path = demo.login_file()
    assert str(path.parent) == app.instance_path  # beside secret-keys.json
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert password in path.read_text() and email in path.read_text()


def test_a_login_that_no_longer_works_is_not_printed(app, runner):
    _, email, password = printed_login(run_demo(runner))
    staff = accounts.find_staff(email)
    staff.password_hash = accounts.hash_password("another long passphrase")
    db.session.commit()
    output = run_demo(runner, "--if-empty")
    assert password not in output and "Log in as a demo" not in output
    assert "staff create EMAIL --role officer" in output
    assert count(StaffUser) == 1  # and no second account either


def test_an_inactive_demo_account_is_not_printed(app, runner):
    _, email, password = printed_login(run_demo(runner))
    accounts.find_staff(email).active = False
    db.session.commit()
    assert password not in run_demo(runner, "--if-empty")


def test_a_database_with_graduates_of_its_own_gets_no_demo_account(app, runner):
    make_alumnus()
    output = run_demo(runner, "--if-empty")
    assert "no demo data loaded" in output and "Log in as a demo" not in output
    assert count(StaffUser) == 0
    assert not demo.login_file().exists()
