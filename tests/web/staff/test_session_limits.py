"""Staff sessions end on the server: after 30 minutes unused, after 12 hours in all, and at
once for every session of an account when it logs out, changes its password, is switched
off or gets another role. Sensitive pages ask for the password again after 15 minutes.
The clock is the session module's ``utcnow``, moved by hand."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from alumni.accounts import lifecycle
from alumni.extensions import db
from alumni.models import ApiToken, AuditEntry, Role
from alumni.models.erasure import ErasureRequest
from tests.support.factories import STAFF_PASSWORD, make_alumnus, make_staff
from tests.support.staff import LOGIN, StaffAuth, form_token, freeze_session_clock, open_browser

OFFICER = "officer@school.example"
ADMIN = "admin@school.example"


@pytest.fixture
def clock(monkeypatch):
    return freeze_session_clock(monkeypatch)


@pytest.fixture
def browser(app):
    return lambda: open_browser(app)


@pytest.fixture
def auth(browser) -> StaffAuth:
    return StaffAuth(browser())


def goes_to_login(response) -> bool:
    return response.status_code in (302, 303) and response.location.startswith(LOGIN)


def next_of(response) -> tuple[str, str]:
    """Where a redirect goes, and its ``next``."""
    parts = urlsplit(response.location)
    return parts.path, parse_qs(parts.query)["next"][0]


def ended_sessions() -> list[str]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == "staff.session_ended")
    return [entry.details["reason"] for entry in db.session.scalars(query)]


# -- idle and absolute limits -----------------------------------------------------------------


def test_a_session_unused_for_30_minutes_ends(app, auth, clock):
    staff = make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    clock.advance(minutes=29, seconds=59)
    assert auth.client.get("/staff/").status_code == 200
    clock.advance(minutes=30)

    response = auth.client.get("/staff/overview")

    assert goes_to_login(response)
    assert next_of(response) == ("/staff/login", "/staff/overview")
    page = auth.client.get(response.location).get_data(as_text=True)
    assert "logged out after 30 minutes without activity" in page
    assert ended_sessions() == ["idle"]
    assert goes_to_login(auth.client.get("/staff/"))  # the session is gone, not just refused
    assert db.session.get(type(staff), staff.id).active  # the account itself is untouched


def test_use_keeps_a_session_alive_up_to_12_hours(app, auth, clock):
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    for _ in range(11 * 2 + 1):  # every 29 minutes, 11 hours and a half
        clock.advance(minutes=29)
        assert auth.client.get("/staff/").status_code == 200
    clock.advance(minutes=29)  # 11 h 36 min: still inside
    assert auth.client.get("/staff/").status_code == 200
    clock.advance(minutes=24)  # 12 hours after the login: over, however active

    response = auth.client.get("/staff/")

    assert goes_to_login(response)
    page = auth.client.get(response.location).get_data(as_text=True)
    assert "a session lasts at most 12 hours" in page
    assert ended_sessions() == ["absolute"]


def test_the_limits_are_configurable(app, auth, clock):
    app.config.update(STAFF_SESSION_IDLE_MINUTES=5, STAFF_SESSION_MAX_HOURS=1)
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    clock.advance(minutes=5)
    assert goes_to_login(auth.client.get("/staff/"))


def test_a_session_without_its_times_is_over(app, auth):
    """A cookie signed before the limits existed (or with its times removed) does not count."""
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    with auth.client.session_transaction() as session:
        del session["staff_started"]
    assert goes_to_login(auth.client.get("/staff/"))


# -- revocation of every session of the account -----------------------------------------------


def two_sessions(browser, email: str) -> tuple[StaffAuth, StaffAuth]:
    here, elsewhere = StaffAuth(browser()), StaffAuth(browser())
    here.login(email)
    elsewhere.login(email)
    assert elsewhere.client.get("/staff/").status_code == 200
    return here, elsewhere


def test_logout_ends_every_session_of_the_account(app, browser):
    make_staff("officer", email=OFFICER)
    here, elsewhere = two_sessions(browser, OFFICER)
    here.logout()
    assert goes_to_login(elsewhere.client.get("/staff/"))


def test_deactivation_ends_every_session_of_the_account(app, browser):
    staff = make_staff("officer", email=OFFICER)
    make_staff("admin", email=ADMIN)
    here, elsewhere = two_sessions(browser, OFFICER)
    lifecycle.deactivate(staff, actor="cli")
    db.session.commit()
    assert goes_to_login(here.client.get("/staff/"))
    assert goes_to_login(elsewhere.client.get("/staff/"))


def test_reactivation_does_not_bring_old_sessions_back(app, browser):
    staff = make_staff("officer", email=OFFICER)
    here, _ = two_sessions(browser, OFFICER)
    lifecycle.deactivate(staff, actor="cli")
    lifecycle.reactivate(staff, actor="cli")
    db.session.commit()
    assert goes_to_login(here.client.get("/staff/"))


def test_a_role_change_ends_every_session_of_the_account(app, browser):
    staff = make_staff("officer", email=OFFICER)
    here, elsewhere = two_sessions(browser, OFFICER)
    lifecycle.change_role(staff, Role.RESEARCHER, actor="cli")
    db.session.commit()
    assert goes_to_login(here.client.get("/staff/"))
    assert goes_to_login(elsewhere.client.get("/staff/"))


def test_a_password_change_ends_every_other_session(app, browser):
    make_staff("officer", email=OFFICER)
    here, elsewhere = two_sessions(browser, OFFICER)
    token = form_token(here.client, "/staff/password")
    new = "a brand new long passphrase"
    here.client.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "current_password": STAFF_PASSWORD,
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert here.client.get("/staff/").status_code == 200
    assert goes_to_login(elsewhere.client.get("/staff/"))


# -- re-authentication ------------------------------------------------------------------------


def confirm(client, next_url: str, password: str = STAFF_PASSWORD):
    url = f"/staff/confirm?next={next_url}"
    return client.post(url, data={"csrf_token": form_token(client, url), "password": password})


def test_a_sensitive_page_asks_for_the_password_after_15_minutes(app, auth, clock):
    make_staff("admin", email=ADMIN)
    auth.login(ADMIN)
    assert auth.client.get("/staff/accounts").status_code == 200  # just logged in
    clock.advance(minutes=15)
    assert auth.client.get("/staff/").status_code == 200  # other pages go on

    response = auth.client.get("/staff/accounts?x=1")

    assert response.status_code == 302
    assert next_of(response) == ("/staff/confirm", "/staff/accounts?x=1")
    assert confirm(auth.client, "/staff/accounts?x=1", "wrong password!!").status_code == 400
    back = confirm(auth.client, "/staff/accounts?x=1")
    assert back.status_code == 303 and back.location == "/staff/accounts?x=1"
    assert auth.client.get("/staff/accounts").status_code == 200
    db.session.expire_all()
    outcomes = db.session.scalars(
        sa.select(AuditEntry.details).where(AuditEntry.action == "staff.reauthenticated")
    ).all()
    assert [entry["outcome"] for entry in outcomes] == ["failure", "success"]


def test_an_erasure_asks_for_the_password_and_returns_to_its_form(app, auth, clock):
    make_staff("admin", email=ADMIN)
    person = make_alumnus()
    auth.login(ADMIN)
    page = f"/staff/alumni/{person.subject_id}"
    token = form_token(auth.client, page)
    clock.advance(minutes=16)

    response = auth.client.post(f"{page}/erase", data={"csrf_token": token, "confirmed": "y"})

    assert response.status_code == 302
    assert next_of(response) == ("/staff/confirm", page)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 0
    assert confirm(auth.client, page).location == page  # back to the form, to confirm again
    token = form_token(auth.client, page)
    response = auth.client.post(f"{page}/erase", data={"csrf_token": token, "confirmed": "y"})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 1


def test_an_sso_session_confirms_at_the_provider(app, auth, clock):
    make_staff("admin", email=ADMIN)
    auth.login(ADMIN)
    with auth.client.session_transaction() as session:
        session["staff_method"] = "sso"
    clock.advance(minutes=20)
    page = auth.client.get("/staff/confirm?next=/staff/accounts").get_data(as_text=True)
    assert 'id="sso-reauthenticate"' in page
    assert "reauth=1" in page
    assert 'name="password"' not in page
    response = auth.client.post(
        "/staff/confirm?next=/staff/accounts",
        data={"csrf_token": form_token(auth.client, "/staff/confirm"), "password": STAFF_PASSWORD},
    )
    assert response.status_code == 200  # a password does not count for an SSO session
    assert auth.client.get("/staff/accounts").status_code == 302


def test_making_an_api_token_asks_for_the_password_after_15_minutes(app, auth, clock):
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    token = form_token(auth.client, "/staff/tokens")
    clock.advance(minutes=16)
    form = {"csrf_token": token, "name": "nightly report", "days": "30"}

    response = auth.client.post("/staff/tokens", data=form)

    assert response.status_code == 302
    assert next_of(response) == ("/staff/confirm", "/staff/tokens")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert confirm(auth.client, "/staff/tokens").location == "/staff/tokens"
    form["csrf_token"] = form_token(auth.client, "/staff/tokens")
    assert auth.client.post("/staff/tokens", data=form).status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_resetting_a_colleagues_second_factor_asks_for_the_password(app, auth, clock):
    make_staff("admin", email=ADMIN)
    colleague = make_staff("officer", email=OFFICER)
    auth.login(ADMIN)
    token = form_token(auth.client, "/staff/second-factors")
    clock.advance(minutes=16)

    response = auth.client.post(
        f"/staff/second-factors/{colleague.id}/reset", data={"csrf_token": token}
    )

    assert response.status_code == 302
    assert next_of(response) == ("/staff/confirm", "/staff/second-factors")
    db.session.refresh(colleague)
    assert colleague.totp_secret is not None  # nothing was reset
