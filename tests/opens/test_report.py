"""What staff and the API learn: counts from OPENS_MIN_RECIPIENTS emails sent, never a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alumni.core.timeline import Step
from alumni.extensions import db
from alumni.opens import Opens, campaign_opens, opens_by_campaign, opens_over_time
from alumni.opens.counting import store_opens
from tests.support.factories import make_campaign
from tests.support.opens import pixel_paths, send_campaign

NINE = datetime(2027, 3, 12, 9, tzinfo=UTC)


@pytest.fixture
def config_overrides():
    return {"OPENS_MIN_RECIPIENTS": 4}


def open_all(client, outbox, times: int = 1) -> None:
    for path in pixel_paths(outbox) * times:
        assert client.get(path).status_code == 200


def test_below_the_threshold_nothing_is_reported(app, client, outbox):
    campaign = send_campaign(app, 3)
    open_all(client, outbox)
    assert campaign_opens(campaign) is None
    assert opens_over_time(campaign) is None


def test_from_the_threshold_counts_and_rate_are_reported(app, client, outbox):
    campaign = send_campaign(app, 4)
    paths = pixel_paths(outbox)
    for path in (paths[0], paths[0], paths[1]):
        client.get(path)
    opens = campaign_opens(campaign)
    assert (opens.total, opens.unique, opens.recipients) == (3, 2, 4)
    assert opens.rate == 0.5
    assert opens.as_dict() == {"total": 3, "unique": 2}


def test_a_campaign_without_opens_reports_zero(app, outbox):
    campaign = send_campaign(app, 4)
    assert campaign_opens(campaign).as_dict() == {"total": 0, "unique": 0}
    assert opens_over_time(campaign) is None


def test_nothing_is_reported_with_tracking_off(app, client, outbox):
    campaign = send_campaign(app, 4)
    open_all(client, outbox)
    assert campaign_opens(campaign) is not None
    campaign.tracking = False  # as if sent without tracking
    assert campaign_opens(campaign) is None
    campaign.tracking = True
    app.config["OPEN_TRACKING"] = False
    assert campaign_opens(campaign) is None


def test_a_draft_reports_nothing(app):
    draft = make_campaign()
    assert campaign_opens(draft) is None
    assert opens_by_campaign([draft]) == {draft.id: None}


def test_many_campaigns_at_once(app, client, outbox):
    small = send_campaign(app, 2)
    outbox.clear()
    large = send_campaign(app, 5)  # the two of the small one consent to events too
    open_all(client, outbox, times=2)
    found = opens_by_campaign([small, large])
    assert found[small.id] is None
    assert found[large.id] == Opens(total=14, unique=7, recipients=7)


def test_opens_over_time_per_hour_in_amsterdam_time(app, outbox):
    campaign = send_campaign(app, 4)
    store_opens(
        {(campaign.id, NINE): 3, (campaign.id, NINE + timedelta(hours=2)): 1},
        {campaign.id: {"a" * 32: NINE, "b" * 32: NINE}},
    )
    db.session.commit()
    line = opens_over_time(campaign)
    assert line.step is Step.HOUR
    assert [start.hour for start in line.starts] == [10, 11, 12]
    assert line.series == {"total": [3, 0, 1], "unique": [2, 0, 0]}


def test_opens_over_a_week_are_per_day(app, outbox):
    campaign = send_campaign(app, 4)
    store_opens(
        {(campaign.id, NINE): 2, (campaign.id, NINE + timedelta(days=6)): 1},
        {campaign.id: {"a" * 32: NINE}},
    )
    db.session.commit()
    line = opens_over_time(campaign)
    assert line.step is Step.DAY
    assert len(line.starts) == 7
    assert line.series["total"] == [2, 0, 0, 0, 0, 0, 1]
