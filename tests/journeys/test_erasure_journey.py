"""Erasure in the production shape: people withdraw over HTTP, the requests wait in Redis, a
campaign runs meanwhile and mails none of them, then a separate `dramatiq worker.tasks`
process erases them. Afterwards no personal value is left in the database, in Redis, in the
worker's log, in this process's log or in the ledger (I1, I2, I6)."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.campaigns.service import schedule
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, CampaignBatch, ErasureRequest
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.journeys.conftest import redis_config
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.factories import make_campaign
from tests.support.privacy import (
    distinctive_alumnus,
    personal_values,
    scan_database,
    scan_file,
    scan_log,
    scan_redis,
)
from tests.support.workers import start_worker, stop, wait_for, worker_environment


@pytest.fixture
def config_overrides(smtp_server, redis_namespace):
    return redis_config(smtp_server, redis_namespace)


def one_click(client, person) -> None:
    url = "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def delete_my_data(client, person) -> None:
    url = "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
    token = csrf_token(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "choice": "erase"}).status_code == 200


def withdraw_entirely(client, person) -> None:
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    token = csrf_token(client.get(url).get_data(as_text=True))
    data = {"csrf_token": token, "action": "withdraw", "confirm": "y"}
    assert client.post(url, data=data).status_code == 200


@pytest.mark.redis
def test_withdrawn_people_are_never_mailed_and_a_worker_process_erases_them(
    app, client, database_url, smtp_server, redis_namespace, tmp_path, caplog
):
    for name in ("alumni", "worker", "dramatiq"):
        caplog.set_level(logging.DEBUG, logger=name)
    people = [distinctive_alumnus() for _ in range(4)]
    for person in people:
        status, _ = submit_choices(
            client, "/optin/" + make_token(LinkKind.OPTIN, person), {Purpose.EVENTS}
        )
        assert status == 200
    db.session.expire_all()
    values = [value for person in people[:3] for value in personal_values(person)]
    staying = people[3]
    addresses = [person.email for person in people]

    for path, person in zip(
        (one_click, delete_my_data, withdraw_entirely), people[:3], strict=True
    ):
        path(client, person)
    # No worker runs: the three requests wait in Redis, holding ids only.
    keys, hits = scan_redis(redis_namespace, values)
    assert keys > 0 and hits == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 3

    # A campaign sent now, before any erasure job ran, reaches only the one who stays.
    campaign = make_campaign(Purpose.EVENTS)
    schedule(campaign)
    db.session.commit()
    sending.tick()
    sending.dispatch(campaign.id)
    for batch_id in db.session.scalars(sa.select(CampaignBatch.id)).all():
        assert sending.send_batch(batch_id) == "done"
    assert smtp_server.recipients() == [staying.email]

    log = tmp_path / "worker.log"
    env = worker_environment(
        database_url,
        redis_namespace,
        smtp_server.url,
        ERASURE_LEDGER_PATH=app.config["ERASURE_LEDGER_PATH"],
    )
    worker = start_worker(env, log)
    try:
        assert wait_for(lambda: erased_count() == 3, timeout=60), log.read_text()
    finally:
        stop(worker)

    assert "send_last_receipt" in log.read_text()  # the worker did it, not this process
    assert scan_database(values) == []
    assert scan_redis(redis_namespace, values)[1] == []
    assert scan_file(log, values) == []
    assert scan_log(caplog.records, values) == []
    assert scan_file(app.config["ERASURE_LEDGER_PATH"], values) == []
    # The campaign reached only the one who stays; each of the others got one email after
    # the withdrawal: the last consent receipt, sent before the erasure.
    receipts = [m for m in smtp_server.messages if m.get_content_type() == "multipart/mixed"]
    others = [m for m in smtp_server.messages if m.get_content_type() != "multipart/mixed"]
    assert [m["To"] for m in others] == [addresses[3]]
    last = {m["To"]: json.loads(next(m.iter_attachments()).get_content()) for m in receipts}
    assert sorted(last) == sorted(addresses)
    assert [last[address]["erasureRequested"] for address in addresses] == [True] * 3 + [False]


def erased_count() -> int:
    db.session.rollback()
    query = sa.select(sa.func.count()).where(Alumnus.status == AlumnusStatus.ERASED)
    return db.session.scalar(query)
