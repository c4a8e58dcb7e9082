"""Staff single sign-on against a real OpenID Connect provider (oidc-provider on loopback):
state, nonce and PKCE are checked, accounts are matched by verified email, the role comes from a
claim at every login, every refusal gives no session and is audit-logged without personal data.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from alumni.extensions import db
from alumni.models import AuditEntry, Role, StaffUser
from tests.conftest import require
from tests.support.factories import STAFF_PASSWORD, make_staff
from tests.support.identity_provider import (
    ADMIN,
    OFFICE,
    RESEARCH,
    IdentityProvider,
    claims,
    node_available,
    running_provider,
)
from tests.support.staff import (
    LOGIN,
    StaffAuth,
    complete_second_step,
    form_token,
    freeze_session_clock,
    open_browser,
)

CALLBACK = "http://alumni.test/staff/sso/callback"  # BASE_URL of the tests' app
OFFICER = "officer@school.example"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    require("Node.js and oidc-provider", *node_available())
    with running_provider(tmp_path_factory.mktemp("oidc"), CALLBACK) as running:
        yield running


@pytest.fixture
def config_overrides(provider: IdentityProvider) -> dict:
    provider.set_users(
        {
            "officer": claims(OFFICER, OFFICE),
            "boss": claims("boss@school.example", ADMIN, OFFICE),
            "unverified": claims(OFFICER, OFFICE, verified=False),
            "no-role": claims(OFFICER, "urn:x:library:staff"),
            "stranger": claims("stranger@school.example", RESEARCH),
        }
    )
    return provider.app_config()


@pytest.fixture
def browser(app) -> FlaskClient:
    return open_browser(app)


def start(browser: FlaskClient) -> str:
    """Press the login page's button: the authorization request the browser is sent to."""
    response = browser.get("/staff/sso")
    assert response.status_code == 302
    return response.location


def answer(browser: FlaskClient, callback_url: str):
    """The browser comes back from the provider (and passes the second step, as it must)."""
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return complete_second_step(browser, browser.get(f"{parts.path}?{parts.query}"))


def sign_in(browser: FlaskClient, provider: IdentityProvider, login: str):
    return answer(browser, provider.sign_in(start(browser), login))


def with_params(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (None: removed)."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def logged_in(browser: FlaskClient) -> bool:
    return browser.get("/staff/").status_code == 200


def sso_entries() -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == "staff.login")
    return [
        entry
        for entry in db.session.scalars(query.order_by(AuditEntry.id))
        if entry.details.get("method") == "sso"
    ]


def last_refusal() -> str:
    entry = sso_entries()[-1]
    assert entry.details["outcome"] == "failure"
    return entry.details["reason"]


def assert_nothing_personal(entries: list[AuditEntry]) -> None:
    text = json.dumps([[entry.actor, entry.details] for entry in entries])
    for personal in ("@", 'officer"', "code", "token", "sub"):
        assert personal not in text, text


# -- the way in -------------------------------------------------------------------------------


def test_an_officer_signs_in_with_the_school_account(app, provider, browser) -> None:
    staff = make_staff("officer", email=OFFICER)
    response = sign_in(browser, provider, "officer")
    assert response.status_code == 303
    assert response.location == "/staff/"
    assert logged_in(browser)
    [entry] = sso_entries()
    assert entry.actor == f"staff:{staff.id}"
    assert entry.details["outcome"] == "success"
    assert_nothing_personal([entry])
    db.session.refresh(staff)
    assert staff.last_login_at is not None


def test_the_sign_in_goes_back_to_the_page_asked_for(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    location = provider.sign_in(browser.get("/staff/sso?next=/staff/overview").location, "officer")
    assert answer(browser, location).location == "/staff/overview"
    # ... but never to another site.
    other = open_browser(app)
    location = provider.sign_in(other.get("/staff/sso?next=//evil.example/").location, "officer")
    assert answer(other, location).location == "/staff/"


def test_the_login_page_offers_both_ways_in(app, provider, browser) -> None:
    page = browser.get(LOGIN).get_data(as_text=True)
    assert 'href="/staff/sso"' in page
    assert 'name="password"' in page


def test_the_authorization_request_carries_pkce_s256_nonce_and_state(
    app, provider, browser
) -> None:
    query = parse_qs(urlsplit(start(browser)).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"][0].split()[0] == "openid"
    state, nonce = query["state"][0], query["nonce"][0]
    assert len(state) >= 20 and len(nonce) >= 20
    with browser.session_transaction() as session:
        kept = session[f"_state_school_{state}"]["data"]
    verifier = kept["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]
    assert kept["nonce"] == nonce


# -- the provider's answer, tampered ----------------------------------------------------------


def test_an_answer_with_another_state_is_refused(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    callback = provider.sign_in(start(browser), "officer")
    response = answer(browser, with_params(callback, state="x" * 27))
    assert response.status_code == 400
    assert not logged_in(browser)
    assert last_refusal() == "bad-state"


def test_an_answer_in_another_browser_is_refused(app, provider, browser) -> None:
    """Login CSRF: an attacker's code and state, fed to a victim's browser, start nothing."""
    make_staff("officer", email=OFFICER)
    callback = provider.sign_in(start(browser), "officer")
    victim = open_browser(app)
    assert answer(victim, callback).status_code == 400
    assert not logged_in(victim)
    assert last_refusal() == "bad-state"


def test_a_state_is_used_once(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    callback = provider.sign_in(start(browser), "officer")
    assert answer(browser, callback).status_code == 303
    browser.post("/staff/logout", data={"csrf_token": form_token(browser, "/staff/")})
    assert answer(browser, callback).status_code == 400
    assert not logged_in(browser)


def test_only_the_latest_sign_in_of_a_browser_counts(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    earlier = provider.sign_in(start(browser), "officer")
    start(browser)  # pressed the button again
    assert answer(browser, earlier).status_code == 400
    assert last_refusal() == "bad-state"
    with browser.session_transaction() as session:
        assert len([key for key in session if key.startswith("_state_")]) == 1


def test_the_sign_in_starts_a_fresh_session(app, provider, browser) -> None:
    """Nothing planted in the session before the sign-in survives it (session fixation)."""
    make_staff("officer", email=OFFICER)
    authorization = start(browser)
    with browser.session_transaction() as planted:
        planted["planted"] = "by someone else"
    assert answer(browser, provider.sign_in(authorization, "officer")).status_code == 303
    with browser.session_transaction() as session:
        assert "planted" not in session
        assert not [key for key in session if key.startswith("_state_")]


def test_refused_answers_are_rate_limited(app, provider, browser) -> None:
    """Guessing at codes and states from one address stops after five refusals a minute."""
    statuses = [
        browser.get(f"/staff/sso/callback?code=guess{n}&state=guess{n}").status_code
        for n in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    assert last_refusal() == "rate-limited"


def test_an_id_token_with_a_wrong_nonce_is_refused(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    request = with_params(start(browser), nonce="n" * 20)  # the provider signs this nonce
    response = answer(browser, provider.sign_in(request, "officer"))
    assert response.status_code == 403
    assert not logged_in(browser)
    assert last_refusal() == "bad-id-token"


def test_an_id_token_without_the_nonce_is_refused(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    request = with_params(start(browser), nonce=None)
    response = answer(browser, provider.sign_in(request, "officer"))
    assert response.status_code == 403
    assert not logged_in(browser)
    assert last_refusal() == "bad-id-token"


def test_a_code_without_its_pkce_verifier_is_refused(app, provider, browser) -> None:
    """A stolen code is worth nothing without the verifier that only this browser holds."""
    make_staff("officer", email=OFFICER)
    callback = provider.sign_in(start(browser), "officer")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with browser.session_transaction() as session:
        kept = session[f"_state_school_{state}"]
        del kept["data"]["code_verifier"]
        session[f"_state_school_{state}"] = kept
    response = answer(browser, callback)
    assert response.status_code == 403
    assert not logged_in(browser)
    assert last_refusal() == "token-refused"


def test_a_code_with_another_verifier_is_refused(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    callback = provider.sign_in(start(browser), "officer")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with browser.session_transaction() as session:
        kept = session[f"_state_school_{state}"]
        kept["data"]["code_verifier"] = "v" * 64
        session[f"_state_school_{state}"] = kept
    assert answer(browser, callback).status_code == 403
    assert not logged_in(browser)
    assert last_refusal() == "token-refused"


def test_an_id_token_not_signed_by_the_provider_is_refused(app, provider, browser) -> None:
    """The ID token's signature is checked against the provider's published keys: here the
    app is made to believe in another key under the same name."""
    from authlib.integrations.flask_client import OAuth
    from cryptography.hazmat.primitives.asymmetric import rsa
    from joserfc.jwk import RSAKey

    make_staff("officer", email=OFFICER)
    callback = provider.sign_in(start(browser), "officer")
    client = app.extensions[OAuth.__module__].create_client("school")
    other = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    client.server_metadata["jwks"] = {
        "keys": [{**other.as_dict(private=False), "kid": "test-run", "alg": "RS256"}]
    }
    response = answer(browser, callback)
    assert response.status_code == 403
    assert not logged_in(browser)
    assert last_refusal() == "bad-id-token"


def test_userinfo_about_another_subject_is_refused(app) -> None:
    """OpenID Connect Core 5.3.2: the userinfo claims count only with the ID token's sub."""
    from alumni.web.staff.sso import user_info

    class Client:
        def load_server_metadata(self) -> dict:
            return {"userinfo_endpoint": "https://idp.example/me"}

        def userinfo(self, token: dict) -> dict:
            return {"sub": "someone-else", "email": "boss@school.example"}

    with pytest.raises(ValueError, match="another subject"):
        user_info(Client(), {"access_token": "a"}, "officer")


class TestAnotherIssuer:
    @pytest.fixture
    def config_overrides(self, provider: IdentityProvider) -> dict:
        """The discovery document names 127.0.0.1; the app was told localhost."""
        issuer = provider.issuer.replace("127.0.0.1", "localhost")
        return provider.app_config(OIDC_ISSUER=issuer)

    def test_a_provider_naming_another_issuer_is_not_used(self, app, browser) -> None:
        response = browser.get("/staff/sso")
        assert response.status_code == 503
        assert last_refusal() == "provider-unreachable"


def test_a_cancelled_sign_in_is_refused(app, provider, browser) -> None:
    state = parse_qs(urlsplit(start(browser)).query)["state"][0]
    response = browser.get(f"/staff/sso/callback?error=access_denied&state={state}")
    assert response.status_code == 403
    assert "cancelled" in response.get_data(as_text=True)
    assert last_refusal() == "provider-error"


# -- who the person is here -------------------------------------------------------------------


def test_an_unverified_email_gets_no_session(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER)
    response = sign_in(browser, provider, "unverified")
    assert response.status_code == 403
    assert "not verified" in response.get_data(as_text=True)
    assert not logged_in(browser)
    assert last_refusal() == "email-unverified"
    assert_nothing_personal(sso_entries())


def test_no_mapped_role_gets_no_session_and_ends_the_open_ones(app, provider, browser) -> None:
    """The provider no longer vouches for this person here: no new session, and the one they
    still have in another browser ends too."""
    staff = make_staff("officer", email=OFFICER)
    other = open_browser(app)
    StaffAuth(other).login(OFFICER, STAFF_PASSWORD)
    assert logged_in(other)
    response = sign_in(browser, provider, "no-role")
    assert response.status_code == 403
    assert not logged_in(browser)
    assert not logged_in(other)
    assert last_refusal() == "no-role"
    assert sso_entries()[-1].actor == f"staff:{staff.id}"


def test_an_unknown_account_gets_no_session(app, provider, browser) -> None:
    response = sign_in(browser, provider, "stranger")
    assert response.status_code == 403
    assert "invitation" in response.get_data(as_text=True)
    assert not logged_in(browser)
    assert last_refusal() == "unknown-account"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0


def test_a_switched_off_account_gets_no_session(app, provider, browser) -> None:
    make_staff("officer", email=OFFICER, active=False)
    assert sign_in(browser, provider, "officer").status_code == 403
    assert not logged_in(browser)
    assert last_refusal() == "inactive"


def test_the_role_comes_from_the_claim_at_every_login(app, provider, browser) -> None:
    staff = make_staff("researcher", email="boss@school.example")
    assert sign_in(browser, provider, "boss").status_code == 303
    db.session.refresh(staff)
    assert staff.role is Role.ADMIN  # admin and office: the one that may do most
    assert browser.get("/staff/audit").status_code == 200

    provider.set_users({"boss": claims("boss@school.example", OFFICE)})
    later = open_browser(app)
    assert sign_in(later, provider, "boss").status_code == 303
    db.session.refresh(staff)
    assert staff.role is Role.OFFICER
    assert later.get("/staff/audit").status_code == 403
    assert not logged_in(browser)  # the session with the old role ended
    changes = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "staff.role_changed")
    ).all()
    assert [(c.details["old_role"], c.details["new_role"]) for c in changes] == [
        ("researcher", "admin"),
        ("admin", "officer"),
    ]


# -- settings ---------------------------------------------------------------------------------


class TestAccountsMadeAtFirstLogin:
    @pytest.fixture
    def config_overrides(self, provider: IdentityProvider) -> dict:
        provider.set_users(
            {
                "stranger": claims("Stranger@School.example", RESEARCH),
                "no-role": claims("nobody@school.example"),
            }
        )
        # Researchers without a second factor (else the new account goes to enrolment first:
        # test_a_new_account_by_single_sign_on_enrols_first).
        return provider.app_config(OIDC_CREATE_ACCOUNTS=True, STAFF_SECOND_FACTOR_RESEARCHER=False)

    def test_a_vouched_for_person_gets_an_account(self, app, provider, browser) -> None:
        assert sign_in(browser, provider, "stranger").status_code == 303
        staff = db.session.scalars(sa.select(StaffUser)).one()
        assert (staff.email, staff.role) == ("stranger@school.example", Role.RESEARCHER)
        assert logged_in(browser)
        actions = [entry.action for entry in db.session.scalars(sa.select(AuditEntry))]
        assert actions == ["staff.created", "staff.login"]

    def test_a_new_account_by_single_sign_on_enrols_first(self, app, provider, browser) -> None:
        app.config["STAFF_SECOND_FACTOR_RESEARCHER"] = True
        response = sign_in(browser, provider, "stranger")
        assert (response.status_code, response.location) == (303, "/staff/enrol")
        assert browser.get("/staff/").location == "/staff/enrol"
        assert 'id="totp-secret"' in browser.get("/staff/enrol").get_data(as_text=True)

    def test_nobody_without_a_role_gets_one(self, app, provider, browser) -> None:
        assert sign_in(browser, provider, "no-role").status_code == 403
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0
        assert last_refusal() == "no-role"


class TestPasswordLoginOff:
    @pytest.fixture
    def config_overrides(self, provider: IdentityProvider) -> dict:
        provider.set_users({"officer": claims(OFFICER, OFFICE)})
        return provider.app_config(STAFF_PASSWORD_LOGIN=False)

    def test_the_login_page_shows_only_the_provider(self, app, browser) -> None:
        page = browser.get(LOGIN).get_data(as_text=True)
        assert 'href="/staff/sso"' in page
        assert 'name="password"' not in page

    def test_a_posted_password_is_refused(self, app, browser) -> None:
        make_staff("officer", email=OFFICER)
        token = form_token(browser, "/link")  # the login page has no form to take it from
        response = browser.post(
            LOGIN, data={"csrf_token": token, "email": OFFICER, "password": STAFF_PASSWORD}
        )
        assert response.status_code == 403
        assert "switched off" in response.get_data(as_text=True)
        assert not logged_in(browser)
        db.session.expire_all()
        entry = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "staff.login")
        ).one()
        assert entry.details["reason"] == "password-login-off"
        assert "@" not in json.dumps(entry.details)

    def test_single_sign_on_still_works(self, app, provider, browser) -> None:
        make_staff("officer", email=OFFICER)
        assert sign_in(browser, provider, "officer").status_code == 303
        assert logged_in(browser)

    def test_there_is_no_password_to_change(self, app, provider, browser) -> None:
        make_staff("officer", email=OFFICER)
        sign_in(browser, provider, "officer")
        assert browser.get("/staff/password").status_code == 404
        assert 'href="/staff/password"' not in browser.get("/staff/").get_data(as_text=True)


class TestWithoutSingleSignOn:
    @pytest.fixture
    def config_overrides(self) -> dict:
        return {}

    def test_there_is_no_button_and_no_way_in(self, app, browser) -> None:
        page = browser.get(LOGIN).get_data(as_text=True)
        assert "/staff/sso" not in page and 'name="password"' in page
        assert browser.get("/staff/sso").status_code == 404
        assert browser.get("/staff/sso/callback?code=a&state=b").status_code == 404


def test_a_provider_that_cannot_be_reached_gives_a_clear_page(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """No node needed: nothing listens on the issuer's port."""
    import shutil

    from alumni import create_app
    from tests.conftest import base_config, free_port
    from tests.support.identity_provider import CLIENT_ID, CLIENT_SECRET, ROLE_MAP

    shutil.copy(sqlite_template, tmp_path / "db.sqlite3")
    config = base_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        OIDC_ISSUER=f"http://127.0.0.1:{free_port()}",
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_ROLE_MAP=ROLE_MAP,
    )
    app = create_app(config, instance_path=str(tmp_path))
    with app.app_context():
        browser = open_browser(app)
        response = browser.get("/staff/sso")
        assert response.status_code == 503
        assert "cannot be reached" in response.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


# -- re-authentication ------------------------------------------------------------------------


def test_re_authentication_signs_in_at_the_provider_again(
    app, provider, browser, monkeypatch
) -> None:
    """An admin signed in with the school account confirms it is them at the provider, which
    is asked to prompt for the login again; the fresh sign-in goes back to the page."""
    clock = freeze_session_clock(monkeypatch)
    make_staff("admin", email="boss@school.example")
    sign_in(browser, provider, "boss")
    assert browser.get("/staff/accounts").status_code == 200
    clock.advance(minutes=16)

    response = browser.get("/staff/accounts")
    assert response.status_code == 302 and response.location.startswith("/staff/confirm")
    page = browser.get(response.location).get_data(as_text=True)
    assert 'name="password"' not in page  # no password for an account of the provider
    again = browser.get("/staff/sso?next=/staff/accounts&reauth=1")
    assert parse_qs(urlsplit(again.location).query)["prompt"] == ["login"]

    back = answer(browser, provider.sign_in(again.location, "boss"))
    assert back.status_code == 303 and back.location == "/staff/accounts"
    assert browser.get("/staff/accounts").status_code == 200
