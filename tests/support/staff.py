"""Staff sessions in tests: a browser-like client per person, logged in through the form."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.support.factories import STAFF_PASSWORD

LOGIN = "/staff/login"


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
        token = form_token(self.client, LOGIN)
        url = LOGIN if next_url is None else f"{LOGIN}?next={next_url}"
        return self.client.post(
            url,
            data={"csrf_token": token, "email": email, "password": password},
            environ_base={"REMOTE_ADDR": address},
        )

    def logout(self):
        token = form_token(self.client, "/staff/")
        return self.client.post("/staff/logout", data={"csrf_token": token})


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
