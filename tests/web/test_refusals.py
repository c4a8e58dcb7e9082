"""401 and 403 in the audit log (ASVS 7.1.3): the API, the staff pages and /metrics; with the
route and never a token or an address; at most so many per client and in all."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni.accounts.api_tokens import create_token
from alumni.extensions import db
from alumni.models import AuditEntry, utcnow
from tests.support.factories import make_campaign, make_staff
from tests.support.staff import StaffAuth, open_browser

ACTION = "access.refused"


def refusals() -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == ACTION).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def bearer(staff, **fields) -> tuple[dict[str, str], str]:
    token, raw = create_token(staff, name="test")
    for name, value in fields.items():
        setattr(token, name, value)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}, raw


def test_an_api_call_without_a_token(client):
    response = client.get("/api/v1/campaigns", environ_base={"REMOTE_ADDR": "192.0.2.7"})

    assert response.status_code == 401
    [entry] = refusals()
    assert entry.actor == "anonymous"
    assert entry.details == {
        "endpoint": "api.list_campaigns",
        "route": "/api/v1/campaigns",
        "method": "GET",
        "status": 401,
        "reason": "missing",
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [({"revoked_at": utcnow()}, "revoked"), ({"expires_at": utcnow() - timedelta(1)}, "expired")],
)
def test_a_refused_token_is_logged_with_its_reason_never_its_value(client, fields, reason):
    headers, raw = bearer(make_staff("officer"), **fields)
    campaign = make_campaign()

    response = client.post(f"/api/v1/campaigns/{campaign.id}/pause", headers=headers)

    assert response.status_code == 401
    [entry] = refusals()
    assert entry.details["reason"] == reason
    assert entry.details["route"] == "/api/v1/campaigns/<int:campaign_id>/pause"
    assert entry.details["method"] == "POST"
    assert raw not in str(entry.details)
    assert f"/campaigns/{campaign.id}/" not in str(entry.details)


def test_an_unknown_token_is_logged_without_its_value(client):
    response = client.get("/api/v1/campaigns", headers={"Authorization": "Bearer guessed-1234"})

    assert response.status_code == 401
    [entry] = refusals()
    assert entry.details["reason"] == "unknown"
    assert "guessed-1234" not in str(entry.details) + entry.actor


def test_a_role_that_may_not_is_logged_with_its_actor(client):
    researcher = make_staff("researcher")
    headers, _ = bearer(researcher)

    assert client.get("/api/v1/campaigns", headers=headers).status_code == 403
    [entry] = refusals()
    assert entry.actor == f"staff:{researcher.id}"
    assert entry.details["status"] == 403


def test_allowed_calls_are_not_logged(client):
    headers, _ = bearer(make_staff("officer"))

    assert client.get("/api/v1/campaigns", headers=headers).status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert refusals() == []


def test_a_staff_page_for_another_role(app):
    officer = make_staff("officer")
    browser = open_browser(app)
    StaffAuth(browser).login(officer.email)

    assert browser.get("/staff/audit").status_code == 403
    [entry] = refusals()
    assert entry.actor == f"staff:{officer.id}"
    assert entry.details == {
        "endpoint": "staff.audit_log",
        "route": "/staff/audit",
        "method": "GET",
        "status": 403,
    }


def test_an_anonymous_visit_of_a_staff_page_is_a_401(app):
    browser = open_browser(app)

    response = browser.get("/staff/alumni")

    assert response.status_code == 302
    [entry] = refusals()
    assert entry.actor == "anonymous"
    assert entry.details["status"] == 401
    assert entry.details["reason"] == "login-required"
    assert entry.details["endpoint"] == "staff.alumni"


def test_metrics_refused(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403
    [entry] = refusals()
    assert entry.details["endpoint"] == "ops.metrics"


@pytest.mark.parametrize(
    "config_overrides",
    [{"AUDIT_REFUSALS_PER_CLIENT": "3 per minute", "AUDIT_REFUSALS_TOTAL": "5 per minute"}],
)
def test_a_flood_cannot_fill_the_log(client, config_overrides):
    for _ in range(10):
        client.get("/api/v1/campaigns", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert len(refusals()) == 3

    for number in range(10):
        client.get("/api/v1/campaigns", environ_base={"REMOTE_ADDR": f"198.51.100.{number}"})
    assert len(refusals()) == 5  # the total's ceiling

    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'alumni_access_refused_total{audit_logged="yes",status="401"} 5.0' in metrics
    assert 'alumni_access_refused_total{audit_logged="no",status="401"} 15.0' in metrics


def test_the_refused_request_keeps_nothing_else(app, client, monkeypatch):
    """The entry is committed on its own: whatever the refused request had added is not."""
    headers, _ = bearer(make_staff("researcher"))
    campaign = make_campaign()
    from alumni.web.api import auth

    original = auth.check_token

    def check_and_change(raw):
        campaign.subject = "changed by a refused request"
        return original(raw)

    monkeypatch.setattr(auth, "check_token", check_and_change)

    assert client.get("/api/v1/campaigns", headers=headers).status_code == 403
    db.session.expire_all()
    assert db.session.get(type(campaign), campaign.id).subject != "changed by a refused request"
    assert len(refusals()) == 1
