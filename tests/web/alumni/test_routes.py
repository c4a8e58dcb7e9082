"""The consent form, the preferences, withdrawal and the fresh-link page."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from alumni.core.pseudonyms import email_suppression_key
from alumni.extensions import db
from alumni.models import (
    PERSONAL_FIELDS,
    AlumnusStatus,
    ConsentEvidence,
    ConsentState,
    EvidenceChannel,
    Suppression,
)
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token, shown_values, submit_choices
from tests.support.factories import answer, make_alumnus


def evidence_of(alumnus) -> list[ConsentEvidence]:
    query = sa.select(ConsentEvidence).where(ConsentEvidence.subject_id == alumnus.subject_id)
    return db.session.scalars(query.order_by(ConsentEvidence.id)).all()


def optin_url(alumnus) -> str:
    return "/optin/" + make_token(LinkKind.OPTIN, alumnus)


def preferences_url(alumnus) -> str:
    return "/preferences/" + make_token(LinkKind.PREFERENCES, alumnus)


# -- the consent form -------------------------------------------------------------------------


def test_the_form_shows_the_data_held_and_one_unanswered_question_per_purpose(app, client):
    alumnus = make_alumnus(first_name="Sanne", programme="Verpleegkunde")
    page = client.get(optin_url(alumnus)).get_data(as_text=True)
    for purpose in Purpose:
        assert page.count(f'name="{purpose.value}"') == 2  # yes and no
    assert "checked" not in page
    assert page.count("<fieldset") >= len(Purpose) and page.count("<legend") >= len(Purpose)
    assert shown_values(page)["programme"] == "Verpleegkunde"
    assert app.config["PRIVACY_CONTACT"] in page


def test_a_missing_answer_stores_nothing_and_says_what_is_missing(app, client):
    alumnus = make_alumnus()
    url = optin_url(alumnus)
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), **shown_values(page), "courses": "yes"}
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert 'id="vacancies-error"' in response.get_data(as_text=True)
    assert evidence_of(alumnus) == []
    assert db.session.get(type(alumnus), alumnus.id).status is AlumnusStatus.INVITED


@pytest.mark.parametrize("value", ["", "maybe", "YES", "1"])
def test_only_yes_or_no_is_an_answer(app, client, value):
    alumnus = make_alumnus()
    url = optin_url(alumnus)
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), **shown_values(page)}
    data.update({p.value: "no" for p in Purpose}, courses=value)
    assert client.post(url, data=data).status_code == 400
    assert evidence_of(alumnus) == []


def test_a_post_without_csrf_token_is_refused(app, client):
    alumnus = make_alumnus()
    response = client.post(optin_url(alumnus), data={p.value: "yes" for p in Purpose})
    assert response.status_code == 400
    assert evidence_of(alumnus) == []


def test_no_to_everything_keeps_nothing(app, client):
    alumnus = make_alumnus(email="nee@alumni.example")
    status, page = submit_choices(client, optin_url(alumnus), granted=set())
    assert status == 200
    finish_jobs(app)  # the erasure job
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED
    assert all(getattr(alumnus, field) is None for field in PERSONAL_FIELDS)
    assert alumnus.student_key is None and alumnus.consents == []
    suppressed = db.session.scalars(sa.select(Suppression.key_hash)).all()
    assert email_suppression_key("nee@alumni.example") in suppressed
    decisions = {(e.purpose, e.decision) for e in evidence_of(alumnus)}
    assert decisions == {(p, ConsentState.WITHDRAWN) for p in Purpose}
    assert "/preferences/" not in page


def test_a_correction_on_the_form_is_stored(app, client):
    alumnus = make_alumnus(preferred_name=None, phone=None)
    status, _ = submit_choices(
        client, optin_url(alumnus), {Purpose.EVENTS}, preferred_name="Jay", phone="06 1234 5678"
    )
    assert status == 200
    db.session.expire_all()
    assert alumnus.preferred_name == "Jay"
    assert alumnus.phone == "+31612345678"


def test_an_invalid_correction_is_refused_with_the_reason(app, client):
    alumnus = make_alumnus()
    status, page = submit_choices(client, optin_url(alumnus), {Purpose.EVENTS}, email="nope")
    assert status == 400
    assert 'id="email-error"' in page and 'aria-invalid="true"' in page
    assert evidence_of(alumnus) == []


# -- preferences ------------------------------------------------------------------------------


def test_preferences_show_current_choices_and_log_only_changes(app, client):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS, Purpose.COURSES})
    before = len(evidence_of(alumnus))
    status, _ = submit_choices(client, preferences_url(alumnus), {Purpose.EVENTS, Purpose.RESEARCH})
    assert status == 303
    changes = evidence_of(alumnus)[before:]
    assert {(e.purpose, e.decision, e.channel) for e in changes} == {
        (Purpose.COURSES, ConsentState.WITHDRAWN, EvidenceChannel.PREFERENCES),
        (Purpose.RESEARCH, ConsentState.GRANTED, EvidenceChannel.PREFERENCES),
    }


def test_mail_is_paused_only_when_the_box_is_ticked_and_can_be_resumed(app, client):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS})
    url = preferences_url(alumnus)
    assert submit_choices(client, url, {Purpose.EVENTS})[0] == 303
    db.session.expire_all()
    assert alumnus.paused_at is None  # saving choices does not pause anything
    assert submit_choices(client, url, {Purpose.EVENTS}, paused="y")[0] == 303
    db.session.expire_all()
    assert alumnus.paused_at is not None
    box = re.search(r'<input[^>]*name="paused"[^>]*>', client.get(url).get_data(as_text=True))
    assert "checked" in box.group(0)  # the page shows it ticked
    assert submit_choices(client, url, {Purpose.EVENTS}, paused="")[0] == 303  # unticked
    db.session.expire_all()
    assert alumnus.paused_at is None


def test_preferences_with_no_consent_left_erase_the_person(app, client):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS})
    status, _ = submit_choices(client, preferences_url(alumnus), set())
    assert status == 200
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED and alumnus.email is None


def test_withdraw_entirely_needs_the_confirmation_box(app, client):
    alumnus = make_alumnus()
    answer(alumnus, {Purpose.EVENTS})
    url = preferences_url(alumnus)
    token = csrf_token(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "action": "withdraw"}).status_code == 400
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.RESPONDED
    response = client.post(url, data={"csrf_token": token, "action": "withdraw", "confirm": "y"})
    assert response.status_code == 200
    assert client.get(url).status_code == 410  # the link dies with the request
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED
    assert client.get(url).status_code == 410


def test_the_language_choice_is_kept(app, client):
    alumnus = make_alumnus(locale="nl")
    answer(alumnus, {Purpose.EVENTS})
    submit_choices(client, preferences_url(alumnus), {Purpose.EVENTS}, language="en")
    db.session.expire_all()
    assert alumnus.locale == "en"


def test_my_data_is_a_json_file_with_the_history(app, client):
    alumnus = make_alumnus(first_name="Noor")
    answer(alumnus, {Purpose.SURVEYS})
    response = client.get("/my-data/" + make_token(LinkKind.MY_DATA, alumnus))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["personal_data"]["first_name"] == "Noor"
    assert {c["purpose"] for c in data["consents"] if c["state"] == "granted"} == {"surveys"}
    assert len(data["consent_history"]) == len(Purpose)


# -- bad links and the fresh-link page ---------------------------------------------------------


@pytest.mark.parametrize(
    ("mangle", "status"),
    [
        (lambda token: token[:-5], 400),
        (lambda token: token[:10], 400),
        (lambda token: token + "x", 400),
        (lambda token: "x" * 80, 400),
    ],
)
def test_a_bad_link_gets_a_friendly_page_with_a_way_out(app, client, mangle, status):
    alumnus = make_alumnus()
    response = client.get("/optin/" + mangle(make_token(LinkKind.OPTIN, alumnus)))
    assert response.status_code == status
    assert 'href="/link"' in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_link_of_another_kind_is_refused_on_every_page(app, client):
    alumnus = make_alumnus()
    token = make_token(LinkKind.MY_DATA, alumnus)
    for prefix in ("/optin/", "/preferences/"):
        assert client.get(prefix + token).status_code == 400
    assert client.post("/preferences/" + token, data={"action": "save"}).status_code == 400


def test_fresh_link_answers_the_same_whatever_the_address(app, client, outbox):
    known = make_alumnus(email="bekend@alumni.example")
    answers = []
    for address in ("bekend@alumni.example", "onbekend@alumni.example"):
        page = client.get("/link").get_data(as_text=True)
        response = client.post("/link", data={"csrf_token": csrf_token(page), "email": address})
        answers.append((response.status_code, response.get_data(as_text=True)))
    finish_jobs(app)
    assert answers[0] == answers[1]
    assert [message["To"] for message in outbox] == ["bekend@alumni.example"]
    body = outbox[0].get_body(preferencelist=("plain",)).get_content()
    assert "/optin/" in body  # not answered yet: the consent form
    assert known.email == "bekend@alumni.example"


def test_fresh_link_is_rate_limited_per_visitor(app, client):
    page = client.get("/link").get_data(as_text=True)
    token = csrf_token(page)
    statuses = [
        client.post("/link", data={"csrf_token": token, "email": f"p{n}@alumni.example"})
        for n in range(7)
    ]
    assert [response.status_code for response in statuses] == [200] * 5 + [429, 429]
    assert "Traceback" not in statuses[-1].get_data(as_text=True)


def test_fresh_link_is_rate_limited_per_address_from_any_visitor(app, client):
    token = csrf_token(client.get("/link").get_data(as_text=True))
    statuses = [
        client.post(
            "/link",
            data={"csrf_token": token, "email": "doelwit@alumni.example"},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n}"},
        ).status_code
        for n in range(1, 6)
    ]
    assert statuses == [200, 200, 200, 429, 429]


@pytest.fixture
def proxied_app(app):
    """The same app, configured as behind one reverse proxy."""
    from alumni import create_app

    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1}, instance_path=app.instance_path)
    yield proxied
    proxied.extensions["dramatiq"].stop()
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


def test_behind_a_proxy_the_rate_limit_is_per_real_client(proxied_app):
    client = proxied_app.test_client()
    token = csrf_token(client.get("/link").get_data(as_text=True))
    statuses = [
        client.post(
            "/link",
            data={"csrf_token": token, "email": f"p{n}@alumni.example"},
            headers={"X-Forwarded-For": f"203.0.113.{n % 2}"},
        ).status_code
        for n in range(12)
    ]
    assert statuses.count(200) == 10  # five per real client, not five for the proxy
