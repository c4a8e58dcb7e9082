"""The second step of a staff login, enrolment before anything else, the security page and
an admin's reset (issue 13 point 1)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import AuditEntry
from alumni.web.staff.second_factor import ALWAYS_OPEN, ENROLMENT, SECOND_STEP
from tests.conftest import finish_jobs
from tests.support.factories import STAFF_TOTP_SECRET, make_staff
from tests.support.staff import (
    LOGIN,
    SECOND_FACTOR,
    StaffAuth,
    form_token,
    next_totp_code,
    open_browser,
)

OFFICER = "officer@school.example"


@pytest.fixture
def client(app):
    return open_browser(app)


@pytest.fixture
def auth(client) -> StaffAuth:
    return StaffAuth(client)


def entries(action: str = "staff.second_factor") -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return db.session.scalars(query).all()


def staff_rules(app, skip: frozenset[str]) -> list[tuple[str, str]]:
    """Every staff URL but ``skip``, with 1 for each parameter."""
    return [
        (re.sub(r"<[^>]+>", "1", rule.rule), "GET" if "GET" in rule.methods else "POST")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("staff.") and rule.endpoint not in skip
    ]


def recovery_codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", html)


def totp_secret(html: str) -> str:
    return re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', html).group(1)


# -- the second step --------------------------------------------------------------------------


def test_the_password_alone_opens_no_staff_page(app, auth):
    make_staff("admin", email=OFFICER)
    response = auth.password_step(OFFICER)
    assert (response.status_code, response.location) == (303, SECOND_FACTOR)
    token = form_token(auth.client, SECOND_FACTOR)
    rules = staff_rules(app, ALWAYS_OPEN | SECOND_STEP)
    assert ("/staff/", "GET") in rules and ("/staff/security", "GET") in rules
    for url, method in rules:
        response = auth.client.open(url, method=method, data={"csrf_token": token})
        assert (response.status_code, response.location) == (302, SECOND_FACTOR), url
    assert auth.client.get(SECOND_FACTOR).status_code == 200


def test_a_code_completes_the_login(app, auth):
    officer = make_staff("officer", email=OFFICER)
    auth.password_step(OFFICER)
    response = auth.second_step(OFFICER, address="198.51.100.7")
    assert (response.status_code, response.location) == (303, "/staff/")
    assert auth.client.get("/staff/").status_code == 200
    [entry] = entries()
    assert entry.actor == f"staff:{officer.id}"
    assert entry.details == {"outcome": "success", "method": "totp", "address": "198.51.100.7"}


def test_a_wrong_code_is_refused_and_audited(app, auth):
    officer = make_staff("officer", email=OFFICER)
    auth.password_step(OFFICER)
    current = pyotp.TOTP(STAFF_TOTP_SECRET).now()
    wrong = "000000" if current != "000000" else "111111"
    response = auth.second_step(OFFICER, code=wrong)
    assert response.status_code == 400
    assert "This code is not correct" in response.get_data(as_text=True)
    assert auth.client.get("/staff/").location == SECOND_FACTOR
    [entry] = entries()
    assert entry.actor == f"staff:{officer.id}"
    assert entry.details["reason"] == "wrong-code"
    assert wrong not in str(entry.details)


def test_a_code_is_accepted_once_replay_is_refused(app, auth):
    make_staff("officer", email=OFFICER)
    code = next_totp_code(OFFICER)
    auth.password_step(OFFICER)
    assert auth.second_step(OFFICER, code=code).status_code == 303
    thief = StaffAuth(open_browser(app))
    thief.password_step(OFFICER)
    response = thief.second_step(OFFICER, code=code)
    assert response.status_code == 400
    assert "used already" in response.get_data(as_text=True)
    assert entries()[-1].details["reason"] == "replayed-code"
    assert thief.client.get("/staff/").status_code == 302


def test_the_pending_step_expires(app, auth, monkeypatch):
    make_staff("officer", email=OFFICER)
    auth.password_step(OFFICER)
    code = next_totp_code(OFFICER)
    token = form_token(auth.client, SECOND_FACTOR)
    later = time.time() + app.config["SECOND_FACTOR_PENDING_SECONDS"] + 1
    monkeypatch.setattr("alumni.web.staff.second_factor.time.time", lambda: later)
    response = auth.client.post(SECOND_FACTOR, data={"csrf_token": token, "code": code})
    assert (response.status_code, response.location) == (302, LOGIN)
    assert "took too long" in auth.client.get(LOGIN).get_data(as_text=True)
    assert auth.client.get(SECOND_FACTOR).location == LOGIN
    assert auth.client.get("/staff/").location.startswith(LOGIN)


def test_a_logout_elsewhere_ends_a_pending_step(app, auth):
    officer = make_staff("officer", email=OFFICER)
    auth.password_step(OFFICER)
    officer.session_token = "ended-" + officer.session_token[6:]
    db.session.commit()
    assert auth.client.get(SECOND_FACTOR).location == LOGIN


def test_wrong_codes_are_rate_limited_per_account(app, auth):
    officer = make_staff("officer", email=OFFICER)
    others = [StaffAuth(open_browser(app)) for _ in range(6)]
    statuses = []
    for number, other in enumerate(others):  # each from its own browser and address
        address = f"198.51.100.{number + 1}"
        other.password_step(OFFICER, address=address)
        statuses.append(other.second_step(OFFICER, code="99999999", address=address).status_code)
    assert statuses == [400] * 5 + [429]
    reasons = [entry.details["reason"] for entry in entries()]
    assert reasons == ["wrong-recovery-code"] * 5 + ["rate-limited"]
    assert all(entry.actor == f"staff:{officer.id}" for entry in entries())


def test_a_recovery_code_logs_in_once(app, auth):
    from alumni.accounts import second_factor as factors

    officer = make_staff("officer", email=OFFICER)
    codes = factors.new_recovery_codes(officer)
    db.session.commit()
    auth.password_step(OFFICER)
    response = auth.second_step(OFFICER, code=codes[3].lower())
    assert (response.status_code, response.location) == (303, "/staff/")
    assert entries()[-1].details["method"] == "recovery-code"
    again = StaffAuth(open_browser(app))
    again.password_step(OFFICER)
    assert again.second_step(OFFICER, code=codes[3]).status_code == 400


def test_a_session_that_never_passed_the_second_step_ends(app, auth):
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    with auth.client.session_transaction() as session:
        del session["second_factor_passed"]
    assert auth.client.get("/staff/").location == LOGIN
    assert auth.client.get("/staff/").location.startswith(LOGIN)


# -- enrolment --------------------------------------------------------------------------------


def test_first_login_enrols_and_nothing_else_is_reachable(app, auth, runner):
    result = runner.invoke(
        args=["staff", "create", OFFICER, "--role", "officer", "--password-stdin"],
        input="correct horse battery staple\n",
    )
    assert result.exit_code == 0, result.output
    response = auth.password_step(OFFICER)
    assert (response.status_code, response.location) == (303, "/staff/enrol")
    token = form_token(auth.client, "/staff/enrol")
    rules = staff_rules(app, ALWAYS_OPEN | ENROLMENT)
    assert ("/staff/", "GET") in rules and (SECOND_FACTOR, "GET") in rules
    for url, method in rules:
        response = auth.client.open(url, method=method, data={"csrf_token": token})
        assert (response.status_code, response.location) == (302, "/staff/enrol"), url

    page = auth.client.get("/staff/enrol").get_data(as_text=True)
    assert "<svg" in page and "data:image" not in page
    secret = totp_secret(page)
    assert auth.client.get("/staff/enrol").get_data(as_text=True).count(secret) == 1
    wrong = auth.client.post("/staff/enrol", data={"csrf_token": token, "code": "12345x"})
    assert wrong.status_code == 400
    response = auth.client.post(
        "/staff/enrol", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 200
    codes = recovery_codes(response.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert auth.client.get("/staff/").status_code == 200
    with auth.client.session_transaction() as session:
        assert secret not in str(dict(session))  # the candidate key left with the enrolment
    actions = [entry.action for entry in entries("staff.second_factor.totp_added")]
    assert actions == ["staff.second_factor.totp_added"]


def test_researchers_may_go_without_when_configured(app, auth):
    make_staff("researcher", email=OFFICER, totp_secret=None)
    app.config["STAFF_SECOND_FACTOR_RESEARCHER"] = False
    response = auth.password_step(OFFICER)
    assert (response.status_code, response.location) == (303, "/staff/")
    assert auth.client.get("/staff/").status_code == 200
    # Switched on: the open session goes to enrolment before anything else.
    app.config["STAFF_SECOND_FACTOR_RESEARCHER"] = True
    assert auth.client.get("/staff/").location == "/staff/enrol"
    assert auth.client.get("/staff/enrol").status_code == 200


# -- the security page ------------------------------------------------------------------------


def notices_to(app, outbox, address: str) -> list[str]:
    """The plain-text bodies of the emails sent to ``address`` once the jobs ran."""
    finish_jobs(app)
    return [m.get_body(("plain",)).get_content() for m in outbox if m["To"] == address]


def test_new_recovery_codes_need_a_current_code(app, auth, outbox):
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    assert "TOTP" in auth.client.get("/staff/security").get_data(as_text=True)
    token = form_token(auth.client, "/staff/security")
    url = "/staff/security/recovery-codes"
    refused = auth.client.post(url, data={"csrf_token": token, "codes-current_code": "000000x"})
    assert refused.status_code == 400
    assert entries("staff.second_factor.check")[-1].details["outcome"] == "failure"
    response = auth.client.post(
        url, data={"csrf_token": token, "codes-current_code": next_totp_code(OFFICER)}
    )
    assert response.status_code == 200
    assert len(recovery_codes(response.get_data(as_text=True))) == 10
    [notice] = notices_to(app, outbox, OFFICER)  # its owner hears of it
    assert "nieuwe herstelcodes" in notice  # in the default language, Dutch


def test_replacing_totp_needs_a_current_code_and_one_of_the_new_key(app, auth, outbox):
    officer = make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    page = auth.client.get("/staff/security/totp").get_data(as_text=True)
    secret = totp_secret(page)
    token = form_token(auth.client, "/staff/security/totp")
    response = auth.client.post(
        "/staff/security/totp",
        data={
            "csrf_token": token,
            "current_code": next_totp_code(OFFICER),
            "code": pyotp.TOTP(secret).now(),
        },
    )
    assert (response.status_code, response.location) == (303, "/staff/security")
    db.session.refresh(officer)
    assert officer.totp_secret == secret
    [notice] = notices_to(app, outbox, OFFICER)
    assert "nieuwe sleutel" in notice


def test_a_new_passkey_is_told_to_its_owner(app, auth, outbox, monkeypatch):
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    # What the browser's authenticator signs is the passkey journey's part (Chromium); here
    # the registration is taken as valid, to see what follows it.
    monkeypatch.setattr("alumni.accounts.passkeys.register_passkey", lambda *args: None)
    with auth.client.session_transaction() as session:
        session["webauthn_challenge"] = "challenge"
        session["passkey_registration_allowed"] = True
    response = auth.client.post(
        "/staff/security/passkey",
        data="{}",
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": form_token(auth.client, "/staff/security"),
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [notice] = notices_to(app, outbox, OFFICER)
    assert "passkey toegevoegd" in notice


def test_a_passkey_needs_a_current_code(app, auth):
    make_staff("officer", email=OFFICER)
    auth.login(OFFICER)
    token = form_token(auth.client, "/staff/security")
    url = "/staff/security/passkey/options"
    refused = auth.client.post(url, data={"csrf_token": token, "passkey-current_code": "1"})
    assert refused.status_code == 400
    options = auth.client.post(
        url, data={"csrf_token": token, "passkey-current_code": next_totp_code(OFFICER)}
    )
    assert options.status_code == 200
    assert options.json["rp"] == {"id": "alumni.test", "name": app.config["ORGANISATION_NAME"]}
    # A made-up answer is refused, and the challenge is gone after one try.
    answer = auth.client.post(
        "/staff/security/passkey",
        data='{"id": "x", "rawId": "x", "type": "public-key", "response": {}}',
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400


# -- an admin's reset -------------------------------------------------------------------------


def test_an_admin_resets_a_colleague_from_the_page(app, auth, outbox):
    admin = make_staff("admin", email="admin@school.example")
    officer = make_staff("officer", email=OFFICER)
    colleague = StaffAuth(open_browser(app))
    colleague.login(OFFICER)
    auth.login("admin@school.example")
    page = auth.client.get("/staff/second-factors").get_data(as_text=True)
    assert OFFICER in page and "TOTP" in page
    token = form_token(auth.client, "/staff/second-factors")
    response = auth.client.post(
        f"/staff/second-factors/{officer.id}/reset", data={"csrf_token": token}
    )
    assert response.status_code == 303
    finish_jobs(app)
    [entry] = entries("staff.second_factor.reset")
    assert entry.actor == f"staff:{admin.id}"
    [message] = outbox
    assert message["To"] == OFFICER
    assert colleague.client.get("/staff/").location.startswith(LOGIN)  # session ended
    assert colleague.password_step(OFFICER).location == "/staff/enrol"


def test_only_admins_reset(app, auth):
    make_staff("officer", email=OFFICER)
    other = make_staff("officer")
    auth.login(OFFICER)
    token = form_token(auth.client, "/staff/")
    assert auth.client.get("/staff/second-factors").status_code == 403
    response = auth.client.post(
        f"/staff/second-factors/{other.id}/reset", data={"csrf_token": token}
    )
    assert response.status_code == 403
    assert not entries("staff.second_factor.reset")
