"""Campaigns end to end: alumni opt in over HTTP with mixed choices, a campaign per purpose
is created through the API, real dramatiq workers on Redis send them to an SMTP server on
loopback. Every campaign reaches exactly those who consent to its purpose; the headers follow
RFC 8058; after a cookieless one-click POST, that person gets nothing more for the purpose."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from alumni.accounts.api_tokens import create_token
from alumni.campaigns import sending
from alumni.extensions import db
from alumni.models import AlumnusStatus, Campaign, CampaignStatus
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.journeys.conftest import redis_config
from tests.support.alumni_pages import submit_choices
from tests.support.emails import split_receipts
from tests.support.factories import make_alumnus, make_staff
from tests.support.workers import (
    start_worker,
    stop,
    wait_for,
    worker_environment,
)

# Who says yes to what: every purpose has a different, non-empty set of people.
CHOICES = [
    {Purpose.COURSES, Purpose.EVENTS},
    {Purpose.EVENTS},
    {Purpose.VACANCIES, Purpose.RESEARCH, Purpose.SURVEYS},
    {Purpose.SURVEYS},
    {Purpose.COURSES, Purpose.VACANCIES, Purpose.EVENTS, Purpose.RESEARCH, Purpose.SURVEYS},
    {Purpose.RESEARCH, Purpose.EVENTS},
    set(),  # says no to everything: erased, gets nothing
]


@pytest.fixture
def config_overrides(smtp_server, redis_namespace):
    return redis_config(smtp_server, redis_namespace, SEND_BATCH_SIZE=2)


def run_campaigns(client, token, purposes) -> dict[Purpose, int]:
    ids = {}
    for purpose in purposes:
        response = client.post(
            "/api/v1/campaigns",
            json={
                "purpose": purpose.value,
                "subject": f"Nieuws over {purpose.value}",
                "body": f"Iets over **{purpose.value}**.",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.get_json()
        campaign_id = response.get_json()["id"]
        scheduled = client.post(
            f"/api/v1/campaigns/{campaign_id}/schedule",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert scheduled.status_code == 200, scheduled.get_json()
        ids[purpose] = campaign_id
    return ids


def all_sent(ids) -> bool:
    sending.tick()
    db.session.expire_all()
    return all(db.session.get(Campaign, i).status is CampaignStatus.SENT for i in ids.values())


@pytest.mark.redis
def test_each_campaign_reaches_exactly_those_who_consent(
    app, client, database_url, smtp_server, redis_namespace, tmp_path
):
    people = [make_alumnus(status=AlumnusStatus.INVITED) for _ in CHOICES]
    for person, granted in zip(people, CHOICES, strict=True):
        status, _ = submit_choices(client, "/optin/" + make_token(LinkKind.OPTIN, person), granted)
        assert status == 200
    emails = [person.email for person in people]  # kept: the last one is erased by now
    db.session.expire_all()
    _, token = create_token(make_staff(role="officer"))
    db.session.commit()

    env = worker_environment(database_url, redis_namespace, smtp_server.url, SEND_BATCH_SIZE="2")
    workers = [start_worker(env, tmp_path / "workers.log") for _ in range(2)]
    try:
        ids = run_campaigns(client, token, list(Purpose))
        assert wait_for(lambda: all_sent(ids), timeout=90, step=0.5), (
            tmp_path / "workers.log"
        ).read_text()

        # Everyone who answered got a receipt (the one who said no to everything, the last
        # one before the erasure); the rest is campaign mail.
        assert wait_for(lambda: len(split_receipts(smtp_server.messages)[0]) == len(people))
        receipts, mailings = split_receipts(smtp_server.messages)
        assert sorted(m["To"] for m in receipts) == sorted(emails)
        received: dict[str, set[str]] = defaultdict(set)
        for message in mailings:
            received[message["Subject"]].add(message["To"])
            https, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
            assert https.startswith("http://alumni.test/unsubscribe/")
            assert mailto.startswith("mailto:")
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        for purpose in Purpose:
            expected = {
                email for email, granted in zip(emails, CHOICES, strict=True) if purpose in granted
            }
            assert received[f"Nieuws over {purpose.value}"] == expected, purpose
        assert len(mailings) == sum(len(granted) for granted in CHOICES)

        # One click from a mail client: no cookie, no CSRF token; 200, no redirect.
        everything = people[4]
        message = next(
            m
            for m in mailings
            if m["To"] == everything.email and m["Subject"] == "Nieuws over events"
        )
        https = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])[0]
        mail_client = app.test_client(use_cookies=False)
        response = mail_client.post(
            https.removeprefix("http://alumni.test"),
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200 and "Location" not in response.headers

        before = len(smtp_server.messages)
        again = run_campaigns(client, token, [Purpose.EVENTS, Purpose.COURSES])
        assert wait_for(lambda: all_sent(again), timeout=90, step=0.5)
        later = [
            m["To"] for m in smtp_server.messages[before:] if m["Subject"] == "Nieuws over events"
        ]
        assert everything.email not in later
        assert sorted(later) == sorted(
            email
            for email, granted in zip(emails, CHOICES, strict=True)
            if Purpose.EVENTS in granted and email != everything.email
        )
        courses = [
            m["To"] for m in smtp_server.messages[before:] if m["Subject"] == "Nieuws over courses"
        ]
        assert everything.email in courses  # only that purpose was withdrawn
    finally:
        for worker in workers:
            stop(worker)
