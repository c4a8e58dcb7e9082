"""Staff login (I9): sessions the server can end, roles, CSRF, audit and rate limits."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from alumni.config import load_config
from alumni.extensions import db
from alumni.models import AlumnusStatus, AuditEntry
from alumni.models.purpose import Purpose
from tests.support.factories import STAFF_PASSWORD, answer, make_alumnus, make_staff
from tests.support.staff import LOGIN, StaffAuth, form_token, open_browser

COOKIE = "__Host-session"  # the session cookie's name when it is Secure, as in these tests


@pytest.fixture
def browser(app) -> Callable[[], FlaskClient]:
    """Opens a new browser: its own cookies, English pages."""
    return lambda: open_browser(app)


@pytest.fixture
def client(browser) -> FlaskClient:
    return browser()


@pytest.fixture
def auth(client) -> StaffAuth:
    return StaffAuth(client)


def login_entries() -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == "staff.login")
    return db.session.scalars(query.order_by(AuditEntry.id)).all()


def goes_to_login(response) -> bool:
    return response.status_code == 302 and response.location.startswith(LOGIN)


class Clock:
    """Moves the rate limiter's clock (memory storage) forward without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def limiter_clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("limits.storage.memory.time", clock)
    return clock


# -- logging in -------------------------------------------------------------------------------


def test_login_opens_the_dashboard_and_is_audited(app, auth):
    officer = make_staff("officer", email="officer@school.example")
    response = auth.login("Officer@School.example ", address="198.51.100.7")
    assert response.status_code == 303
    assert response.location == "/staff/"
    assert auth.client.get("/staff/").status_code == 200
    [entry] = login_entries()
    assert entry.actor == f"staff:{officer.id}"
    assert entry.details == {"outcome": "success", "address": "198.51.100.7"}
    db.session.refresh(officer)
    assert officer.last_login_at is not None


def test_failed_logins_are_audited_with_the_same_message(app, auth):
    officer = make_staff("officer", email="officer@school.example")
    wrong = auth.login("officer@school.example", "not the password at all")
    unknown = auth.login("nobody.here@school.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    message = "The email address or the password is not correct."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert auth.client.get("/staff/").status_code == 302  # not logged in

    by_password, by_account = login_entries()
    assert by_password.actor == f"staff:{officer.id}"
    assert by_password.details["outcome"] == "failure"
    assert by_password.details["reason"] == "wrong-password"
    assert by_account.actor == "anonymous"
    assert by_account.details["reason"] == "unknown-account"
    assert by_account.details["address"] == "127.0.0.1"
    assert "nobody.here" not in json.dumps(by_account.details)
    assert "nobody.here" not in by_account.actor


def test_the_same_unknown_address_is_recognisable_in_the_log(app, auth):
    auth.login("Nobody.Here@school.example", "first guess, wrong")
    auth.login("nobody.here@school.example", "second guess, wrong")
    auth.login("someone.else@school.example", "third guess, wrong")
    first, second, other = (entry.details["typed"] for entry in login_entries())
    assert first == second != other


def test_an_inactive_account_cannot_log_in_and_its_session_ends(app, auth):
    staff = make_staff("officer", email="leaver@school.example")
    auth.login("leaver@school.example")
    assert auth.client.get("/staff/").status_code == 200
    staff.active = False
    db.session.commit()
    assert goes_to_login(auth.client.get("/staff/"))
    response = auth.login("leaver@school.example")
    assert response.status_code == 400
    assert "switched off" in response.get_data(as_text=True)
    assert login_entries()[-1].details["reason"] == "inactive"


def test_login_without_csrf_token_is_refused(app, client):
    make_staff("officer", email="officer@school.example")
    client.get(LOGIN)
    response = client.post(
        LOGIN, data={"email": "officer@school.example", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302
    assert login_entries() == []


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/staff/overview", "/staff/overview"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/", "/staff/"),
        ("/\\evil.example", "/staff/"),
    ],
)
def test_login_goes_back_only_to_a_page_of_this_site(app, auth, next_url, expected):
    make_staff("officer", email="officer@school.example")
    response = auth.login("officer@school.example", next_url=next_url)
    assert response.location == expected


def test_an_old_password_hash_is_replaced_at_login(app, auth):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    staff = make_staff("officer", email="officer@school.example")
    staff.password_hash = weak.hash(STAFF_PASSWORD)
    db.session.commit()
    assert auth.login("officer@school.example").status_code == 303
    db.session.refresh(staff)
    assert not PasswordHasher().check_needs_rehash(staff.password_hash)
    assert PasswordHasher().verify(staff.password_hash, STAFF_PASSWORD)


# -- rate limits ------------------------------------------------------------------------------


def test_failed_logins_from_one_address_are_rate_limited(app, auth, limiter_clock):
    make_staff("officer", email="officer@school.example")
    for n in range(5):
        response = auth.login(f"guess{n}@school.example", "wrong password here")
        assert response.status_code == 400
    blocked = auth.login("guess5@school.example", "wrong password here")
    assert blocked.status_code == 429
    assert "Wait 1 minute and try again" in blocked.get_data(as_text=True)
    # The right password does not get through the block either.
    assert auth.login("officer@school.example").status_code == 429
    assert auth.client.get("/staff/").status_code == 302
    reasons = [entry.details.get("reason") for entry in login_entries()]
    assert reasons == ["unknown-account"] * 5 + ["rate-limited"] * 2

    limiter_clock.offset = 61  # the minute has passed
    assert auth.login("officer@school.example").status_code == 303
    assert auth.client.get("/staff/").status_code == 200


def test_only_failed_logins_count(app, auth):
    make_staff("officer", email="officer@school.example")
    for _ in range(7):
        assert auth.login("officer@school.example").status_code == 303
        auth.logout()


# -- sessions ---------------------------------------------------------------------------------


def test_session_cookie_is_secure_httponly_and_lax(app, auth):
    make_staff("officer", email="officer@school.example")
    response = auth.login("officer@school.example")
    cookies = response.headers.getlist("Set-Cookie")
    [cookie] = [h for h in cookies if h.startswith("__Host-session=")]
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "secure" in flags
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags  # a __Host- cookie: Path=/ and no Domain, or browsers drop it
    assert not any(flag.startswith("domain=") for flag in flags)
    assert any(flag.startswith("expires=") for flag in flags)  # 12 hours, not forever


@pytest.mark.parametrize(
    ("environ", "secure"),
    [
        ({}, True),
        ({"FLASK_DEBUG": "1"}, False),
        ({"FLASK_DEBUG": "1", "SESSION_COOKIE_SECURE": "1"}, True),
        ({"SESSION_COOKIE_SECURE": "0"}, False),
    ],
)
def test_cookies_are_secure_outside_debug(tmp_path: Path, environ, secure):
    config = load_config(tmp_path, environ)
    assert config["SESSION_COOKIE_SECURE"] is secure
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600


def test_login_starts_a_fresh_session(app, auth):
    """Nothing planted in the session before the login survives it (session fixation)."""
    make_staff("officer", email="officer@school.example")
    with auth.client.session_transaction() as planted:
        planted["planted"] = "by someone else"
    auth.login("officer@school.example")
    with auth.client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent


def test_logout_ends_the_session_on_the_server(app, auth, browser):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    copied = auth.client.get_cookie(COOKIE).value
    response = auth.logout()
    assert response.status_code == 303
    assert response.location == LOGIN
    assert goes_to_login(auth.client.get("/staff/"))

    replay = browser()
    replay.set_cookie(COOKIE, copied)
    assert goes_to_login(replay.get("/staff/"))


def test_a_copied_cookie_works_until_logout(app, auth, browser):
    """The counterpart of the test above: the replay itself is sound."""
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    replay = browser()
    replay.set_cookie(COOKIE, auth.client.get_cookie(COOKIE).value)
    assert replay.get("/staff/").status_code == 200


def test_logout_is_a_post(app, auth):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    assert auth.client.get("/staff/logout").status_code == 405
    assert auth.client.get("/staff/").status_code == 200


def change_password(client: FlaskClient, current: str, new: str, again: str | None = None):
    token = form_token(client, "/staff/password")
    data = {
        "csrf_token": token,
        "current_password": current,
        "new_password": new,
        "confirm_password": new if again is None else again,
    }
    return client.post("/staff/password", data=data)


def test_password_change_ends_other_sessions_and_keeps_this_one(app, browser):
    staff = make_staff("officer", email="officer@school.example")
    here, elsewhere = StaffAuth(browser()), StaffAuth(browser())
    here.login("officer@school.example")
    elsewhere.login("officer@school.example")
    assert elsewhere.client.get("/staff/").status_code == 200

    response = change_password(here.client, STAFF_PASSWORD, "a brand new long passphrase")
    assert response.status_code == 303
    assert here.client.get("/staff/").status_code == 200
    assert goes_to_login(elsewhere.client.get("/staff/"))

    assert elsewhere.login("officer@school.example").status_code == 400
    assert (
        elsewhere.login("officer@school.example", "a brand new long passphrase").status_code == 303
    )
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "staff.password_change")
    ).all()
    assert [(e.actor, e.details["outcome"]) for e in entries] == [(f"staff:{staff.id}", "success")]


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("wrong current password", "a brand new long passphrase", None, "not correct"),
        (STAFF_PASSWORD, "too short", None, "12 to 1024 characters"),
        (STAFF_PASSWORD, "password1234", None, "It is a very common password."),
        (STAFF_PASSWORD, "officer2025!!", None, "built on your name or email address"),
        (STAFF_PASSWORD, "a brand new long passphrase", "something else entirely", "not the same"),
    ],
)
def test_password_change_refusals(app, auth, current, new, again, message):
    staff = make_staff("officer", email="officer@school.example")
    old_hash = staff.password_hash
    auth.login("officer@school.example")
    response = change_password(auth.client, current, new, again)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.refresh(staff)
    assert staff.password_hash == old_hash
    assert auth.client.get("/staff/").status_code == 200
    logged = json.dumps([entry.details for entry in db.session.scalars(sa.select(AuditEntry))])
    assert new not in logged and current not in logged


def test_the_password_page_says_what_is_asked_and_offers_to_show_it(app, auth):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    page = auth.client.get("/staff/password").get_data(as_text=True)
    assert "not built on your name, your email address or the name Demo College" in page
    assert page.count("data-show-password=") == 3  # hidden until staff.js shows it
    assert '<script src="/static/staff.js" defer></script>' in page
    script = auth.client.get("/static/staff.js")
    assert "data-show-password" in script.get_data(as_text=True)
    script.close()


def test_a_weak_new_password_is_audited_without_the_password(app, auth):
    staff = make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    assert change_password(auth.client, STAFF_PASSWORD, "password1234").status_code == 400
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "staff.password_change")
    ).one()
    assert entry.actor == f"staff:{staff.id}"
    assert entry.details["reason"] == "weak-password"
    assert "password1234" not in json.dumps(entry.details)


def test_password_guessing_on_the_change_page_is_limited(app, auth):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    statuses = [
        change_password(
            auth.client, f"wrong guess number {n}", "a brand new long passphrase"
        ).status_code
        for n in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    assert change_password(auth.client, STAFF_PASSWORD, "another new passphrase").status_code == 429


# -- roles ------------------------------------------------------------------------------------


# The ways in: the password form, and the start and answer of single sign-on.
LOGIN_ENDPOINTS = (
    "staff.login",
    "staff.sso_start",
    "staff.sso_callback",
    # a forgotten password and an invitation: reached by people who cannot log in
    "staff.forgot_password",
    "staff.reset_password",
    "staff.accept_invitation",
)


def staff_rules(app) -> list[tuple[str, str]]:
    """Every staff URL, with 1 for each of its parameters (the login is checked first)."""
    return [
        (re.sub(r"<[^>]+>", "1", rule.rule), "GET" if "GET" in rule.methods else "POST")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("staff.") and rule.endpoint not in LOGIN_ENDPOINTS
    ]


def test_every_staff_page_needs_a_login(app, client):
    token = form_token(client, LOGIN)
    rules = staff_rules(app)
    assert {"/staff/", "/staff/overview", "/staff/password", "/staff/logout"} <= {
        url for url, _ in rules
    }
    for url, method in rules:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert goes_to_login(response), url


def test_anonymous_visitor_is_sent_to_the_login_and_back(app, auth):
    make_staff("officer", email="officer@school.example")
    response = auth.client.get("/staff/overview")
    assert response.status_code == 302
    assert response.location == "/staff/login?next=%2Fstaff%2Foverview"
    assert auth.login("officer@school.example", next_url="/staff/overview").location == (
        "/staff/overview"
    )


@pytest.mark.parametrize(
    ("role", "status"), [("researcher", 403), ("officer", 200), ("admin", 200)]
)
def test_officer_pages_need_the_officer_role(app, auth, role, status):
    make_staff(role, email=f"{role}@school.example")
    auth.login(f"{role}@school.example")
    response = auth.client.get("/staff/overview")
    assert response.status_code == status
    if status == 403:
        assert "Your role does not give access to this page" in response.get_data(as_text=True)


def test_officer_dashboard_counts_alumni_and_consents(app, auth):
    answer(make_alumnus(), {Purpose.EVENTS, Purpose.RESEARCH})
    answer(make_alumnus(), {Purpose.EVENTS})
    make_alumnus(status=AlumnusStatus.IMPORTED)
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    page = auth.client.get("/staff/").get_data(as_text=True)
    counts = dict(re.findall(r"<li><span>([^<]+)</span> <strong>(\d+)</strong></li>", page))
    assert counts["Answered the consent form"] == "2"
    assert counts["Imported, not invited yet"] == "1"
    assert counts["Events and activities"] == "2"
    assert counts["Research"] == "1"
    assert counts["Courses and trainings"] == "0"
    assert 'href="/staff/overview"' in page


def test_researcher_dashboard_shows_no_alumni_data(app, auth):
    answer(make_alumnus(), {Purpose.EVENTS, Purpose.RESEARCH})
    make_alumnus(status=AlumnusStatus.IMPORTED)
    make_staff("researcher", email="researcher@school.example")
    auth.login("researcher@school.example")
    page = auth.client.get("/staff/").get_data(as_text=True)
    assert "Alumni who consent to research now: 1." in page
    assert "Alumni by status" not in page
    assert "Events and activities" not in page
    assert 'href="/staff/overview"' not in page


def test_overview_counts_consent_per_graduation_year(app, auth):
    answer(make_alumnus(graduation_year=2021), {Purpose.COURSES})
    answer(make_alumnus(graduation_year=2021), {Purpose.COURSES, Purpose.SURVEYS})
    make_alumnus(graduation_year=2019)
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    page = auth.client.get("/staff/overview").get_data(as_text=True)
    rows = re.findall(r'<th scope="row">(\d+)</th>\s*((?:<td>\d+</td>\s*)+)', page)
    table = {year: re.findall(r"<td>(\d+)</td>", cells) for year, cells in rows}
    # alumni, then the purposes in their fixed order: courses, vacancies, events, research, surveys
    assert table == {"2021": ["2", "2", "0", "0", "0", "1"], "2019": ["1", "0", "0", "0", "0", "0"]}


def test_staff_pages_are_not_cached(app, auth):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    assert auth.client.get("/staff/").headers["Cache-Control"] == "no-store"
