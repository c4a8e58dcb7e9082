"""Counting opens: in the database directly, or in Redis and flushed; exact through crashes."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import OpenCount, OpenedToken, OpenFlush
from alumni.opens import counting
from alumni.opens.counting import STALE_FLUSH_SECONDS, DatabaseCounter, RedisCounter, hour_of
from tests.conftest import REDIS_URL, require
from tests.support.factories import make_campaign
from tests.support.workers import clear_namespace, redis_available

NINE = datetime(2027, 3, 12, 9, tzinfo=UTC)
TEN = NINE + timedelta(hours=1)


def counts() -> dict[tuple[int, datetime], tuple[int, int]]:
    db.session.expire_all()
    return {
        (row.campaign_id, row.hour): (row.total_opens, row.unique_opens)
        for row in db.session.scalars(sa.select(OpenCount))
    }


def digests() -> set[tuple[int, str]]:
    return set(db.session.execute(sa.select(OpenedToken.campaign_id, OpenedToken.digest)).all())


@pytest.fixture
def campaign(app):
    return make_campaign()


def test_hour_of_is_the_utc_hour():
    moment = datetime(2027, 3, 12, 10, 59, 59, tzinfo=UTC)
    assert hour_of(moment) == datetime(2027, 3, 12, 10, tzinfo=UTC)


def test_in_the_database_the_first_open_of_a_token_is_the_unique_one(campaign):
    counter = DatabaseCounter()
    counter.record(campaign.id, "a" * 32, NINE)
    counter.record(campaign.id, "a" * 32, TEN)  # opened again an hour later
    counter.record(campaign.id, "b" * 32, TEN)
    assert counts() == {(campaign.id, NINE): (1, 1), (campaign.id, TEN): (2, 1)}
    assert digests() == {(campaign.id, "a" * 32), (campaign.id, "b" * 32)}
    assert counter.flush() == 0


def test_opens_of_a_deleted_campaign_are_dropped(campaign):
    counting.store_opens({(campaign.id + 1, NINE): 3}, {campaign.id + 1: {"c" * 32: NINE}})
    db.session.commit()
    assert counts() == {} and digests() == set()


# -- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_counter(app):
    require("Redis", *redis_available())
    namespace = f"alumni-test-{uuid.uuid4().hex[:8]}"
    yield RedisCounter(REDIS_URL, namespace, push_every=None)  # pushed by hand here
    clear_namespace(namespace)


@pytest.mark.redis
def test_with_redis_opens_wait_for_the_flush(campaign, redis_counter):
    redis_counter.record(campaign.id, "a" * 32, NINE)
    redis_counter.record(campaign.id, "a" * 32, TEN)
    redis_counter.record(campaign.id, "b" * 32, TEN)
    assert counts() == {}  # nothing in the database before the flush
    assert redis_counter.flush() == 3
    assert counts() == {(campaign.id, NINE): (1, 1), (campaign.id, TEN): (2, 1)}
    assert redis_counter.flush() == 0  # nothing twice
    assert counts() == {(campaign.id, NINE): (1, 1), (campaign.id, TEN): (2, 1)}
    assert redis_counter.redis.keys(f"{redis_counter.prefix}:*") == []


@pytest.mark.redis
def test_a_token_opened_again_after_a_flush_is_not_unique_again(campaign, redis_counter):
    redis_counter.record(campaign.id, "a" * 32, NINE)
    redis_counter.flush()
    redis_counter.record(campaign.id, "a" * 32, TEN)
    redis_counter.flush()
    assert counts() == {(campaign.id, NINE): (1, 1), (campaign.id, TEN): (1, 0)}


@pytest.mark.redis
def test_a_flush_that_died_before_its_commit_is_applied_later(campaign, redis_counter, monkeypatch):
    redis_counter.record(campaign.id, "a" * 32, NINE)
    redis_counter.record(campaign.id, "a" * 32, NINE)

    def crash(*args, **kwargs):
        raise RuntimeError("the scheduler died")

    with monkeypatch.context() as patch:
        patch.setattr(counting, "store_opens", crash)
        with pytest.raises(RuntimeError):
            redis_counter.flush()
    db.session.rollback()
    assert counts() == {}
    redis_counter.record(campaign.id, "b" * 32, TEN)
    assert redis_counter.flush() == 1  # the new open; the lost flush is not stale yet
    assert counts() == {(campaign.id, TEN): (1, 1)}
    assert redis_counter.flush(now=_later()) == 2  # now it is: applied by this flush
    assert counts() == {(campaign.id, NINE): (2, 1), (campaign.id, TEN): (1, 1)}
    assert redis_counter.flush(now=_later()) == 0


@pytest.mark.redis
def test_a_flush_that_died_after_its_commit_is_not_applied_twice(
    campaign, redis_counter, monkeypatch
):
    redis_counter.record(campaign.id, "a" * 32, NINE)
    redis_counter.record(campaign.id, "b" * 32, NINE)

    class DeadPipeline:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            raise ConnectionError("the scheduler died before telling Redis")

    with monkeypatch.context() as patch:
        patch.setattr(redis_counter.redis, "pipeline", DeadPipeline)
        with pytest.raises(ConnectionError):
            redis_counter.flush()
    assert counts() == {(campaign.id, NINE): (2, 2)}
    assert redis_counter.flush(now=_later()) == 0  # found, known as applied, removed
    assert counts() == {(campaign.id, NINE): (2, 2)}
    assert redis_counter.redis.keys(f"{redis_counter.prefix}:*") == []


@pytest.mark.redis
def test_applied_flush_ids_are_forgotten_after_a_day(campaign, redis_counter):
    redis_counter.record(campaign.id, "a" * 32, NINE)
    redis_counter.flush()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OpenFlush)) == 1
    db.session.execute(
        sa.update(OpenFlush).values(applied_at=datetime.now(UTC) - timedelta(days=2))
    )
    db.session.commit()
    redis_counter.flush()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OpenFlush)) == 0


@pytest.mark.redis
def test_a_web_process_pushes_its_opens_to_redis_in_one_go(campaign, redis_counter):
    for digest in ("a" * 32, "a" * 32, "b" * 32):
        redis_counter.record(campaign.id, digest, NINE)
    assert redis_counter.redis.exists(redis_counter.pending) == 0  # only in this process
    assert redis_counter.push() == 3
    fields = redis_counter.redis.hgetall(redis_counter.pending)
    hour = str(int(NINE.timestamp()) // 3600).encode()
    assert fields == {
        f"t|{campaign.id}|{hour.decode()}".encode(): b"3",
        f"u|{campaign.id}|{'a' * 32}".encode(): hour,
        f"u|{campaign.id}|{'b' * 32}".encode(): hour,
    }
    assert redis_counter.push() == 0


@pytest.mark.redis
def test_opens_wait_in_the_process_while_redis_does_not_answer(
    campaign, redis_counter, monkeypatch, caplog
):
    redis_counter.record(campaign.id, "a" * 32, NINE)
    push = redis_counter._push

    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("refused")

    monkeypatch.setattr(redis_counter, "_push", unreachable)
    assert redis_counter.push() == 0  # and no exception
    assert "opens not pushed yet, Redis does not answer: ConnectionError" in caplog.text
    redis_counter.record(campaign.id, "a" * 32, TEN)
    monkeypatch.setattr(redis_counter, "_push", push)
    assert redis_counter.flush() == 2
    assert counts() == {(campaign.id, NINE): (1, 1), (campaign.id, TEN): (1, 0)}


@pytest.mark.redis
def test_a_process_keeps_only_so_many_opens_for_an_absent_redis(
    campaign, redis_counter, monkeypatch, caplog
):
    monkeypatch.setattr(counting, "MAX_BUFFERED", 2)
    monkeypatch.setattr(redis_counter, "_push", lambda **kwargs: 1 / 0)
    for digest in ("a" * 32, "b" * 32, "c" * 32):
        redis_counter.record(campaign.id, digest, NINE)
    redis_counter.push()
    assert "opens dropped, Redis does not answer: ZeroDivisionError" in caplog.text
    assert redis_counter.push() == 0


@pytest.mark.redis
def test_a_forked_worker_starts_with_an_empty_buffer(campaign, redis_counter):
    """gunicorn forks its workers: a worker must not push its master's opens again."""
    redis_counter.record(campaign.id, "a" * 32, NINE)
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the worker
        os.write(writing, str(sum(redis_counter._totals.values())).encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reading, 16) == b"0"
    assert redis_counter.push() == 1  # the master's own


def _later() -> float:
    return datetime.now(UTC).timestamp() + STALE_FLUSH_SECONDS + 1
