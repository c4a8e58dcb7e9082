"""Redis restarted in the middle of a campaign. The Redis here keeps nothing on disk (as on the
CI machine), so the restart loses the queue and every message in it. The worker must come
back to the new Redis by itself, the scheduler's tick must queue the lost batches again from
the database, and everyone who consents must get exactly one email."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from alumni.extensions import db
from alumni.models import CampaignStatus, Delivery, DeliveryStatus
from tests.conftest import free_port, require
from tests.journeys.conftest import deliveries_of, redis_config, scheduled_campaign_to
from tests.support.workers import start_worker, stop, wait_for, worker_environment
from worker import scheduler

PEOPLE = 150
RECOVERY = {"SEND_BATCH_SIZE": 10, "STALE_BATCH_SECONDS": 3, "INTERRUPTED_CLAIM_SECONDS": 3}


class RedisServer:
    """A redis-server of this test's own, on a port of its own, that can be killed and started
    again on the same port (nothing kept on disk)."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert wait_for(self.answers, timeout=10), "redis-server did not start"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def keys(self) -> int:
        return redis.Redis.from_url(self.url).dbsize()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    require("redis-server", Path(binary).exists(), "the binary is needed to restart a Redis")
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def config_overrides(smtp_server, redis_namespace, own_redis):
    return redis_config(smtp_server, redis_namespace, **RECOVERY, REDIS_URL=own_redis.url)


def finished(campaign) -> bool:
    """Play the scheduler process: one whole round, then see whether the campaign is done."""
    scheduler.tick()
    db.session.expire_all()
    return campaign.status is CampaignStatus.SENT


@pytest.mark.redis
def test_a_redis_restart_mid_campaign_loses_nobody_and_sends_nobody_twice(
    app, database_url, smtp_server, redis_namespace, own_redis, tmp_path
):
    smtp_server.delay = 0.01  # a campaign that takes a few seconds: Redis goes down during it
    people, campaign = scheduled_campaign_to(PEOPLE)
    env = worker_environment(
        database_url, redis_namespace, smtp_server.url, REDIS_URL=own_redis.url, **RECOVERY
    )
    log = tmp_path / "worker.log"
    worker = start_worker(env, log, threads=2)
    try:
        scheduler.tick()
        assert wait_for(lambda: len(smtp_server.messages) >= 30, timeout=60), log.read_text()
        own_redis.kill()
        at_restart = len(smtp_server.messages)
        scheduler.tick()  # a round while Redis is down: it fails in parts and goes on
        time.sleep(1)
        own_redis.start()
        assert own_redis.keys() == 0  # the queue is gone, with the batches in it
        assert at_restart < PEOPLE, "the campaign ended before Redis went down"

        assert wait_for(lambda: finished(campaign), timeout=120, step=1), log.read_text()
        assert worker.poll() is None, "the worker died with Redis: " + log.read_text()
    finally:
        stop(worker)

    received = Counter(smtp_server.recipients())
    assert max(received.values()) == 1, "an email went out twice"
    interrupted = deliveries_of(campaign, Delivery.reason == "interrupted")
    assert interrupted == []  # the worker lived: nothing was left in flight
    assert set(received) == {person.email for person in people}
    assert len(deliveries_of(campaign, Delivery.status == DeliveryStatus.SENT)) == PEOPLE
