"""API tokens on the staff page /staff/tokens: own tokens for everyone, every token for admins,
a new token shown once, revocation, and the expiry the API then enforces."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni.accounts.api_tokens import create_token, token_hash
from alumni.extensions import db
from alumni.models import ApiToken, AuditEntry, utcnow
from tests.support.factories import make_staff
from tests.support.staff import StaffAuth, form_token, open_browser

PAGE = "/staff/tokens"


@pytest.fixture
def browser(app):
    return open_browser(app)


def logged_in(app, role: str, **fields):
    staff = make_staff(role, **fields)
    browser = open_browser(app)
    assert StaffAuth(browser).login(staff.email).status_code == 303
    return staff, browser


def make(browser, name: str = "report script", days: str = "30"):
    token = form_token(browser, PAGE)
    return browser.post(PAGE, data={"csrf_token": token, "name": name, "days": days})


def shown_token(response) -> str:
    return re.search(r'<code id="new-token">([^<]+)</code>', response.get_data(as_text=True))[1]


def test_a_new_token_is_shown_once_and_works_for_the_api(app):
    officer, browser = logged_in(app, "officer")

    response = make(browser, "nightly report", "30")

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    raw = shown_token(response)
    token = db.session.scalar(sa.select(ApiToken))
    assert token.token_hash == token_hash(raw) and token.name == "nightly report"
    assert token.staff_id == officer.id
    assert timedelta(days=29, hours=23) < token.expires_at - utcnow() <= timedelta(days=30)
    api = app.test_client().get("/api/v1/campaigns", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
    page = browser.get(PAGE).get_data(as_text=True)
    assert raw not in page and "nightly report" in page
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "staff.token_created")
    )
    assert entry.actor == f"staff:{officer.id}"
    assert raw not in str(entry.details)


def test_the_default_is_90_days(app):
    _, browser = logged_in(app, "officer")
    token = form_token(browser, PAGE)

    response = browser.post(PAGE, data={"csrf_token": token, "name": "x", "days": "90"})

    assert response.status_code == 201
    assert 'value="90"' in browser.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", "30", "Give the token a name"),
        ("x" * 101, "30", "at most 100 characters"),
        ("script", "0", "from 1 to 365 days"),
        ("script", "366", "from 1 to 365 days"),
        ("script", "soon", "Not a valid integer value"),
    ],
)
def test_a_token_asked_for_wrongly_is_not_made(app, name, days, message):
    _, browser = logged_in(app, "officer")

    response = make(browser, name, days)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(ApiToken)).all() == []


@pytest.mark.parametrize("config_overrides", [{"API_TOKEN_MAX_DAYS": 30}])
def test_the_maximum_is_configurable(app, config_overrides):
    _, browser = logged_in(app, "officer")

    assert make(browser, days="31").status_code == 400
    assert make(browser, days="30").status_code == 201


def test_creating_needs_the_csrf_token(app):
    _, browser = logged_in(app, "officer")

    response = browser.post(PAGE, data={"name": "script", "days": "30"})

    assert response.status_code == 400
    assert db.session.scalars(sa.select(ApiToken)).all() == []


def test_anonymous_visitors_go_to_the_login(browser):
    assert browser.get(PAGE).status_code == 302
    assert browser.post(PAGE, data={"name": "x", "days": "1"}).status_code in (302, 400)
    assert db.session.scalars(sa.select(ApiToken)).all() == []


def test_a_researcher_sees_the_page_but_makes_no_token(app):
    """The API admits admins and officers: a researcher's token would open nothing."""
    _, browser = logged_in(app, "researcher")

    assert browser.get(PAGE).status_code == 200
    assert "Make a token" not in browser.get(PAGE).get_data(as_text=True)
    assert make(browser).status_code == 403
    assert db.session.scalars(sa.select(ApiToken)).all() == []


def test_each_sees_only_their_own_tokens_and_admins_see_all_with_owner(app):
    officer, officer_browser = logged_in(app, "officer", email="officer@school.example")
    colleague = make_staff("officer", email="colleague@school.example")
    create_token(colleague, name="colleague's script")
    create_token(officer, name="my script")
    db.session.commit()

    own_page = officer_browser.get(PAGE).get_data(as_text=True)
    assert "my script" in own_page
    assert "colleague&#39;s script" not in own_page and "colleague@school.example" not in own_page

    _, admin_browser = logged_in(app, "admin")
    admin_page = admin_browser.get(PAGE).get_data(as_text=True)
    assert "Every token" in admin_page
    assert "colleague&#39;s script" in admin_page and "colleague@school.example" in admin_page
    assert "my script" in admin_page and "officer@school.example" in admin_page


def revoke(browser, token_id: int):
    csrf = form_token(browser, PAGE)
    return browser.post(f"{PAGE}/{token_id}/revoke", data={"csrf_token": csrf})


def test_revoking_an_own_token_stops_it_at_once(app):
    officer, browser = logged_in(app, "officer")
    token, raw = create_token(officer, name="script")
    db.session.commit()

    response = revoke(browser, token.id)

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    api = app.test_client().get("/api/v1/campaigns", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 401
    page = browser.get(PAGE).get_data(as_text=True)
    assert "You have no tokens." in page and "The token &#34;script&#34; is revoked" in page


def test_nobody_but_an_admin_revokes_a_colleagues_token(app):
    _, browser = logged_in(app, "officer")
    colleague = make_staff("officer")
    token, _ = create_token(colleague, name="theirs")
    db.session.commit()

    assert revoke(browser, token.id).status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None

    admin, admin_browser = logged_in(app, "admin")
    assert revoke(admin_browser, token.id).status_code == 303
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "staff.token_revoked")
    )
    assert entry.actor == f"staff:{admin.id}"
    assert entry.details == {"staff_id": colleague.id, "token_id": token.id}


def test_revoking_a_token_that_is_not_there_is_404(app):
    _, browser = logged_in(app, "admin")

    assert revoke(browser, 999).status_code == 404


def test_an_expired_token_is_marked_on_the_page(app):
    officer, browser = logged_in(app, "officer")
    token, _ = create_token(officer, name="old script")
    token.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()

    assert "<strong>expired</strong>" in browser.get(PAGE).get_data(as_text=True)
