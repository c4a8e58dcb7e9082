"""Staff sessions in tests: a browser-like client per person, logged in through the form."""

from __future__ import annotations

import re
import time

import pyotp
from flask.testing import FlaskClient

from tests.support.factories import STAFF_PASSWORD

LOGIN = "/staff/login"
SECOND_FACTOR = "/staff/second-factor"


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def form_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form at ``url``, for this client's session."""
    return csrf_token(client.get(url).get_data(as_text=True))


class Browser(FlaskClient):
    """A test client whose every request has an app context (and ``g``) of its own.

    The ``app`` fixture keeps one app context for the whole test, and a request inside it
    reuses it: Flask-Login's current user and Flask-WTF's CSRF token, both kept in ``g``, would
    then outlive their request, and a test of logging out could pass for the wrong reason.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class StaffAuth:
    """Logs a test client in and out as a browser would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(
        self,
        email: str,
        password: str = STAFF_PASSWORD,
        address: str = "127.0.0.1",
        next_url: str | None = None,
    ):
        """The password, then (when the login asks for it) the second step with a TOTP code of
        the account's key, as a person with the authenticator app would. Returns the answer to
        the last POST; ``password_step`` alone stops after the password."""
        response = self.password_step(email, password, address, next_url)
        if response.status_code == 303 and response.location.endswith(SECOND_FACTOR):
            return self.second_step(email, address=address)
        return response

    def password_step(
        self,
        email: str,
        password: str = STAFF_PASSWORD,
        address: str = "127.0.0.1",
        next_url: str | None = None,
    ):
        token = form_token(self.client, LOGIN)
        url = LOGIN if next_url is None else f"{LOGIN}?next={next_url}"
        return self.client.post(
            url,
            data={"csrf_token": token, "email": email, "password": password},
            environ_base={"REMOTE_ADDR": address},
        )

    def second_step(self, email: str, code: str | None = None, address: str = "127.0.0.1"):
        """Type ``code`` (default: a fresh TOTP code of the account's key) at the second step."""
        if code is None:
            code = next_totp_code(email)
        token = form_token(self.client, SECOND_FACTOR)
        return self.client.post(
            SECOND_FACTOR,
            data={"csrf_token": token, "code": code},
            environ_base={"REMOTE_ADDR": address},
        )

    def enrol_totp(self):
        """On the enrolment page: take the key it shows and confirm it with a code of it."""
        page = self.client.get("/staff/enrol").get_data(as_text=True)
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
        return self.client.post(
            "/staff/enrol",
            data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()},
        )

    def logout(self):
        token = form_token(self.client, "/staff/")
        return self.client.post("/staff/logout", data={"csrf_token": token})


def complete_second_step(client: FlaskClient, response):
    """After a first factor (password or single sign-on): when the login asks for the second
    step, type a fresh TOTP code of the pending account's key; else ``response`` as it is."""
    if response.status_code != 303 or not response.location.endswith(SECOND_FACTOR):
        return response
    from alumni.extensions import db
    from alumni.models import StaffUser

    with client.session_transaction() as session:
        staff_id = session["second_factor_pending"]["id"]
    return StaffAuth(client).second_step(db.session.get(StaffUser, staff_id).email)


def next_totp_code(email: str) -> str:
    """A TOTP code of the account's key that it has not used yet: the current step's, or the
    next one's (within the ±1 window) when the current one is spent."""
    from alumni.accounts.staff import find_staff
    from alumni.extensions import db

    staff = find_staff(email)
    db.session.refresh(staff)
    current = int(time.time() // 30)
    last = staff.totp_last_counter if staff.totp_last_counter is not None else -1
    if last > current:
        # Both codes of the window are spent (a third login within 30 s): as if the person
        # waited for the next code.
        staff.totp_last_counter = None
        db.session.commit()
        last = -1
    return pyotp.TOTP(staff.totp_secret).generate_otp(max(current, last + 1))


def pass_second_step_in(page, email: str) -> None:
    """In a Playwright page on the second step: type a fresh code of the account's key."""
    page.wait_for_url(re.compile(r"/staff/second-factor$"))
    page.locator("input[name=code]").fill(next_totp_code(email))
    page.locator("form:has(input[name=code]) button[type=submit]").click()


def open_browser(app) -> FlaskClient:
    """A new browser: its own cookies, English pages (the tests read English texts)."""
    client = Browser(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


class SessionClock:
    """The clock of the staff session limits (``alumni.web.staff.session.utcnow``), moved by
    hand: no test sleeps."""

    def __init__(self) -> None:
        from alumni.models import utcnow

        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


def freeze_session_clock(monkeypatch) -> SessionClock:
    clock = SessionClock()
    monkeypatch.setattr("alumni.web.staff.session.utcnow", clock)
    return clock


def link_in(message, prefix: str) -> str:
    """The first link of an email (its text part) that starts with ``prefix``."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(re.escape(prefix) + r"\S+", text).group(0)
