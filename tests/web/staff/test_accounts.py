"""The lifecycle of a staff account through the pages: an administrator invites, changes a
role, switches an account off and on (/staff/accounts); a colleague sets a password through
the emailed link; a forgotten password is set again through a link that answers everyone the
same. Each step is audited with staff ids only and told to the person by email."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from alumni.accounts import api_tokens
from alumni.accounts import staff as accounts
from alumni.extensions import db
from alumni.models import AuditEntry, Role, StaffUser
from tests.conftest import finish_jobs
from tests.support.factories import STAFF_PASSWORD, make_staff
from tests.support.staff import (
    LOGIN,
    StaffAuth,
    form_token,
    freeze_session_clock,
    link_in,
    open_browser,
)

ADMIN = "admin@school.example"
COLLEAGUE = "colleague@school.example"
NEW_PASSWORD = "a brand new long passphrase"
BASE = "http://alumni.test"


@pytest.fixture
def config_overrides():
    return {"BABEL_DEFAULT_LOCALE": "en"}  # the tests read the English texts of the mails


@pytest.fixture
def browser(app):
    return lambda: open_browser(app)


@pytest.fixture
def admin(app, browser) -> StaffAuth:
    make_staff("admin", email=ADMIN)
    auth = StaffAuth(browser())
    auth.login(ADMIN)
    return auth


def goes_to_login(response) -> bool:
    return response.status_code in (302, 303) and response.location.startswith(LOGIN)


def staff_named(email: str) -> StaffUser | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))


def audit_of(*actions: str) -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def mails_to(app, outbox, address: str) -> list:
    finish_jobs(app)
    return [message for message in outbox if message["To"] == address]


def bearer(staff: StaffUser) -> dict[str, str]:
    _, raw = api_tokens.create_token(staff, name="nightly report")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def post(auth: StaffAuth, url: str, **data: str):
    token = form_token(auth.client, "/staff/accounts")
    return auth.client.post(url, data={"csrf_token": token, **data})


def set_password(client, url: str, password: str = NEW_PASSWORD, again: str | None = None):
    token = form_token(client, url)
    data = {"csrf_token": token, "new_password": password, "confirm_password": again or password}
    return client.post(url, data=data)


def invite(app, admin: StaffAuth, outbox, email: str = COLLEAGUE, role: str = "officer") -> str:
    response = post(admin, "/staff/accounts/invite", email=email, role=role)
    assert response.status_code == 303, response.get_data(as_text=True)
    [mail] = mails_to(app, outbox, email)
    return link_in(mail, f"{BASE}/staff/welcome/").removeprefix(BASE)


# -- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "researcher"])
def test_only_admins_manage_accounts(app, browser, role):
    make_staff(role, email=f"{role}@school.example")
    auth = StaffAuth(browser())
    auth.login(f"{role}@school.example")
    assert auth.client.get("/staff/accounts").status_code == 403
    assert post(auth, "/staff/accounts/invite", email=COLLEAGUE, role="admin").status_code == 403
    assert staff_named(COLLEAGUE) is None


def test_the_list_shows_role_state_last_login_and_second_factor(app, admin):
    make_staff("researcher", email="off@school.example", active=False, totp_secret=None)
    page = admin.client.get("/staff/accounts").get_data(as_text=True)
    assert ADMIN in page and "off@school.example" in page
    assert "Switched off" in page and "never" in page
    factors = re.findall(r'<td class="second-factor">([^<]*)</td>', page)
    assert sorted(factors) == ["TOTP", "none"]


# -- inviting ---------------------------------------------------------------------------------


def test_an_invited_colleague_sets_a_password_once_and_logs_in(app, admin, browser, outbox):
    link = invite(app, admin, outbox)
    invited = staff_named(COLLEAGUE)
    assert invited.role is Role.OFFICER and invited.invited_at is not None
    colleague = StaffAuth(browser())
    assert colleague.login(COLLEAGUE, NEW_PASSWORD).status_code == 400  # no password yet

    assert set_password(colleague.client, link).status_code == 303
    logged_in = colleague.login(COLLEAGUE, NEW_PASSWORD)
    assert logged_in.status_code == 303
    assert logged_in.location.endswith("/staff/enrol")  # a second factor before anything else
    assert staff_named(COLLEAGUE).invited_at is None
    assert browser().get(link).status_code == 404  # single use
    assert [entry.details.get("staff_id") for entry in audit_of("staff.invited")] == [invited.id]
    accepted = audit_of("staff.invitation_accepted")
    assert [entry.actor for entry in accepted] == [f"staff:{invited.id}"]
    for entry in audit_of("staff.invited", "staff.invitation_accepted"):
        assert COLLEAGUE not in str(entry.details)


def test_an_invitation_expires_after_24_hours(app, admin, browser, outbox, monkeypatch):
    link = invite(app, admin, outbox)
    later = time.time() + 24 * 3600 + 1
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: later))
    assert browser().get(link).status_code == 404


def test_an_invitation_with_sso_says_to_sign_in_with_the_school_account(app, admin, outbox):
    app.config["OIDC_ISSUER"] = "https://login.school.example"  # only the email reads it here
    post(admin, "/staff/accounts/invite", email=COLLEAGUE, role="officer")
    [mail] = mails_to(app, outbox, COLLEAGUE)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{BASE}/staff/login" in text and "/staff/welcome/" not in text


def test_an_existing_address_cannot_be_invited(app, admin, outbox):
    response = post(admin, "/staff/accounts/invite", email=ADMIN, role="officer")
    assert response.status_code == 400
    assert "exists already" in response.get_data(as_text=True)


def test_a_weak_password_is_refused_on_the_invitation_page(app, admin, browser, outbox):
    link = invite(app, admin, outbox)
    client = browser()
    assert set_password(client, link, "short").status_code == 400
    assert set_password(client, link, NEW_PASSWORD, "something else!!").status_code == 400
    assert client.get(link).status_code == 200  # still usable


# -- role, deactivation, reactivation ----------------------------------------------------------


def test_deactivation_stops_an_open_session_and_an_api_token_at_once(app, admin, browser, outbox):
    colleague = make_staff("officer", email=COLLEAGUE)
    headers = bearer(colleague)
    auth = StaffAuth(browser())
    auth.login(COLLEAGUE)
    api = app.test_client()
    assert auth.client.get("/staff/").status_code == 200
    assert api.get("/api/v1/campaigns", headers=headers).status_code == 200

    response = post(admin, f"/staff/accounts/{colleague.id}/deactivate")

    assert response.status_code == 303
    assert goes_to_login(auth.client.get("/staff/"))
    assert api.get("/api/v1/campaigns", headers=headers).status_code == 401
    assert not staff_named(COLLEAGUE).active
    [entry] = audit_of("staff.deactivated")
    assert entry.details == {"staff_id": colleague.id, "tokens_revoked": 1}
    [mail] = mails_to(app, outbox, COLLEAGUE)
    assert "switched off" in mail.get_body(preferencelist=("plain",)).get_content()

    post(admin, f"/staff/accounts/{colleague.id}/reactivate")
    assert staff_named(COLLEAGUE).active
    assert api.get("/api/v1/campaigns", headers=headers).status_code == 401  # stays revoked
    assert auth.login(COLLEAGUE).status_code == 303
    assert [entry.details for entry in audit_of("staff.reactivated")] == [
        {"staff_id": colleague.id}
    ]


def test_a_role_change_is_audited_and_told(app, admin, outbox):
    colleague = make_staff("officer", email=COLLEAGUE)
    post(admin, f"/staff/accounts/{colleague.id}/role", role="researcher")
    assert staff_named(COLLEAGUE).role is Role.RESEARCHER
    [entry] = audit_of("staff.role_changed")
    assert entry.details == {
        "staff_id": colleague.id,
        "old_role": "officer",
        "new_role": "researcher",
    }
    [mail] = mails_to(app, outbox, COLLEAGUE)
    assert "Researcher" in mail.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize("step", ["deactivate", "role"])
def test_the_last_active_admin_cannot_switch_themselves_off_or_demote(app, admin, step):
    me = staff_named(ADMIN)
    make_staff("admin", email="former@school.example", active=False)  # inactive: does not count
    response = post(admin, f"/staff/accounts/{me.id}/{step}", role="officer")
    assert response.status_code == 303
    page = admin.client.get("/staff/accounts").get_data(as_text=True)
    assert "last active administrator" in page
    me = staff_named(ADMIN)
    assert me.active and me.role is Role.ADMIN

    make_staff("admin", email="second@school.example")
    post(admin, f"/staff/accounts/{me.id}/role", role="officer")
    assert staff_named(ADMIN).role is Role.OFFICER


def test_changes_need_a_recent_password(app, admin, monkeypatch):
    clock = freeze_session_clock(monkeypatch)
    colleague = make_staff("officer", email=COLLEAGUE)
    token = form_token(admin.client, "/staff/accounts")
    clock.advance(minutes=16)
    for url, data in [
        (f"/staff/accounts/{colleague.id}/role", {"role": "admin"}),
        (f"/staff/accounts/{colleague.id}/deactivate", {}),
        ("/staff/accounts/invite", {"email": "new@school.example", "role": "admin"}),
    ]:
        response = admin.client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 302 and response.location.startswith("/staff/confirm")
    colleague = staff_named(COLLEAGUE)
    assert colleague.role is Role.OFFICER and colleague.active
    assert staff_named("new@school.example") is None


# -- a forgotten password ---------------------------------------------------------------------


def ask_reset(client, email: str, address: str = "127.0.0.1"):
    token = form_token(client, "/staff/password/forgot")
    return client.post(
        "/staff/password/forgot",
        data={"csrf_token": token, "email": email},
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_login_page_links_to_the_forgotten_password(app, browser):
    page = browser().get(LOGIN).get_data(as_text=True)
    assert 'href="/staff/password/forgot"' in page
    assert "Ask an administrator" not in page


def test_a_reset_answers_the_same_for_any_address(app, browser, outbox):
    make_staff("officer", email=COLLEAGUE)
    make_staff("officer", email="off@school.example", active=False)
    answers = []
    for typed in (COLLEAGUE, "nobody@school.example", "off@school.example"):
        client = browser()
        response = ask_reset(client, typed)
        answers.append((response.status_code, response.location))
        answers_page = client.get(response.location).get_data(as_text=True)
        assert "If this address belongs to a staff account" in answers_page
    assert len(set(answers)) == 1
    finish_jobs(app)
    assert [message["To"] for message in outbox] == [COLLEAGUE]
    entries = audit_of("staff.password_reset_requested")
    assert "nobody@school.example" not in str([entry.details for entry in entries])


def test_a_reset_link_sets_the_password_once_and_ends_sessions_and_tokens(app, browser, outbox):
    colleague = make_staff("officer", email=COLLEAGUE)
    headers = bearer(colleague)
    open_session = StaffAuth(browser())
    open_session.login(COLLEAGUE)
    ask_reset(browser(), COLLEAGUE)
    [mail] = mails_to(app, outbox, COLLEAGUE)
    link = link_in(mail, f"{BASE}/staff/password/reset/").removeprefix(BASE)

    client = browser()
    assert set_password(client, link).status_code == 303

    assert goes_to_login(open_session.client.get("/staff/"))
    assert app.test_client().get("/api/v1/campaigns", headers=headers).status_code == 401
    assert client.get(link).status_code == 404  # used
    assert StaffAuth(browser()).login(COLLEAGUE, NEW_PASSWORD).status_code == 303
    assert [entry.actor for entry in audit_of("staff.password_reset")] == [f"staff:{colleague.id}"]
    notices = mails_to(app, outbox, COLLEAGUE)[1:]
    assert len(notices) == 1 and "reset link" in notices[0].get_body(("plain",)).get_content()


def test_a_reset_link_dies_with_a_password_change_and_with_time(app, browser, outbox, monkeypatch):
    colleague = make_staff("officer", email=COLLEAGUE)
    ask_reset(browser(), COLLEAGUE)
    [mail] = mails_to(app, outbox, COLLEAGUE)
    link = link_in(mail, f"{BASE}/staff/password/reset/").removeprefix(BASE)
    assert browser().get(link).status_code == 200

    later = time.time() + 60 * 60 + 1
    with monkeypatch.context() as patch:
        patch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: later))
        assert browser().get(link).status_code == 404

    accounts.change_password(colleague, STAFF_PASSWORD, "another long passphrase", address=None)
    db.session.commit()
    assert browser().get(link).status_code == 404


def test_reset_requests_are_rate_limited_per_address_typed(app, browser, outbox):
    make_staff("officer", email=COLLEAGUE)
    statuses = [ask_reset(browser(), COLLEAGUE, f"10.0.0.{n}").status_code for n in range(4)]
    assert statuses == [303, 303, 303, 429]
    finish_jobs(app)
    assert len(outbox) == 3


def test_password_change_revokes_api_tokens_and_tells_the_owner(app, browser, outbox):
    colleague = make_staff("officer", email=COLLEAGUE)
    headers = bearer(colleague)
    accounts.change_password(colleague, STAFF_PASSWORD, NEW_PASSWORD, address=None)
    db.session.commit()
    assert app.test_client().get("/api/v1/campaigns", headers=headers).status_code == 401
    [mail] = mails_to(app, outbox, COLLEAGUE)
    assert "has been changed" in mail.get_body(preferencelist=("plain",)).get_content()
