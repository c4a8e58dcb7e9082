"""What staff see of the renewal: the campaign on the campaigns page as kind renewal (no edit,
no preview: each email is made from the person's own choices), and the progress on the
dashboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alumni.campaigns import sending
from alumni.consent import notices
from alumni.extensions import db
from alumni.models import utcnow
from alumni.models.purpose import Purpose
from tests.conftest import finish_jobs
from tests.support.factories import answer, make_alumnus, make_staff
from tests.support.staff import StaffAuth, open_browser


@pytest.fixture
def auth(app) -> StaffAuth:
    return StaffAuth(open_browser(app))


@pytest.fixture
def asked(app):
    """Two consenting people asked again after a material notice; a third never answered."""
    for _ in range(2):
        answer(make_alumnus(), {Purpose.EVENTS})
    make_alumnus()
    notices.publish("2027-01", text_nl="# Nieuw\n", text_en="# New\n", material=True, actor="t")
    db.session.commit()
    now = utcnow() + timedelta(seconds=1)
    sending.tick(now)
    finish_jobs(app)
    sending.tick(now)


def test_the_dashboard_shows_the_renewal_progress(app, auth, asked):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    page = auth.client.get("/staff/").get_data(as_text=True)
    counts = dict(re.findall(r"<li><span>([^<]+)</span> <strong>(\d+)</strong></li>", page))
    assert counts["Asked"] == "2"
    assert counts["Waiting for an answer"] == "2"
    assert counts["Kept their choices"] == "0"
    assert counts["Lapsed without an answer"] == "0"


def test_the_renewal_is_on_the_campaigns_page_as_its_kind(app, auth, asked):
    make_staff("officer", email="officer@school.example")
    auth.login("officer@school.example")
    listing = auth.client.get("/staff/campaigns").get_data(as_text=True)
    assert "Renewal of consent" in listing
    campaign_id = re.search(r'href="/staff/campaigns/(\d+)"', listing).group(1)
    detail = auth.client.get(f"/staff/campaigns/{campaign_id}")
    assert detail.status_code == 200
    assert "Renewal of consent" in detail.get_data(as_text=True)
    for path in ("preview", "edit"):
        response = auth.client.get(f"/staff/campaigns/{campaign_id}/{path}")
        assert response.status_code == 303
