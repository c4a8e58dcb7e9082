"""An unreachable mail server: the campaign waits and says why, loses nobody, and sends to
everyone exactly once when the server is back; the database, not the queue, knows the rest."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from alumni import mail
from alumni.campaigns import sending
from alumni.campaigns.service import schedule
from alumni.extensions import db
from alumni.models import CampaignStatus, Delivery
from alumni.models.purpose import Purpose
from tests.conftest import free_port
from tests.support.factories import answer, make_alumnus, make_campaign


@pytest.fixture
def config_overrides():
    return {
        "MAIL_BACKEND": None,
        "SMTP_URL": f"smtp://127.0.0.1:{free_port()}",  # nobody listens there
        "SMTP_TIMEOUT": 1,
        "SEND_BATCH_SIZE": 2,
        "RETRY_GRACE_SECONDS": 1,
        "STALE_BATCH_SECONDS": 0,
    }


def test_the_campaign_waits_for_the_mail_server_and_loses_nobody(app, smtp_server):
    people = [make_alumnus() for _ in range(5)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    campaign = make_campaign()
    schedule(campaign)
    db.session.commit()

    sending.tick()
    app.extensions["dramatiq"].finish_queued_work(retry_grace_ms=1000)
    db.session.expire_all()
    assert campaign.status is CampaignStatus.SENDING
    assert campaign.waiting_reason == "smtp-unavailable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0

    app.config["SMTP_URL"] = smtp_server.url  # the server is back
    mail.init_app(app)
    sending.tick()  # the batches' jobs were dropped with the worker: queued again from the DB
    app.extensions["dramatiq"].finish_queued_work()
    sending.tick()
    db.session.expire_all()
    assert campaign.status is CampaignStatus.SENT and campaign.waiting_reason is None
    assert Counter(smtp_server.recipients()) == Counter(p.email for p in people)
