"""The send rate: at most SEND_RATE messages per second over all workers, asked for per chunk."""

from __future__ import annotations

import uuid

import pytest

from alumni.campaigns import throttle as throttles
from alumni.campaigns.throttle import LocalThrottle, RedisThrottle, most_at_once
from tests.conftest import REDIS_URL, require
from tests.support.workers import redis_available


class Clock:
    """time.time, time.monotonic and time.sleep of the throttle module, without waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: float = 1_000_000.25) -> None:
        self.now = start
        self.slept: list[float] = []
        monkeypatch.setattr(throttles.time, "time", lambda: self.now)
        monkeypatch.setattr(throttles.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(throttles.time, "sleep", self.sleep)

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_local_throttle_spaces_messages_and_chunks_by_the_rate(monkeypatch):
    clock = Clock(monkeypatch)
    local = LocalThrottle(rate=10)
    local.wait(5)  # the first chunk leaves at once
    local.wait(5)  # the next one when the first five had their half second
    local.wait(1)
    assert clock.slept == [0.5, 0.5]


@pytest.mark.parametrize(("rate", "window", "allowed"), [(10, 1, 10), (0.5, 2, 1), (0.25, 4, 1)])
def test_the_redis_throttle_counts_per_window(monkeypatch, rate, window, allowed):
    require("Redis", *redis_available())
    clock = Clock(monkeypatch, start=1_000_000.0)
    shared = RedisThrottle(REDIS_URL, rate, key=f"throttle-test-{uuid.uuid4().hex}")
    other_worker = RedisThrottle(REDIS_URL, rate, key=shared.key)
    assert (shared.window, shared.allowed) == (window, allowed)
    try:
        shared.wait(allowed)  # the whole window's share, at once
        other_worker.wait(1)  # another worker must wait for the next window
        assert clock.slept == [window]
    finally:
        shared.redis.delete(*shared.redis.keys(f"{shared.key}:*"))


def test_a_chunk_never_asks_for_more_than_one_second_allows(app):
    app.config["SEND_RATE"] = 0
    assert most_at_once() is None
    app.config["SEND_RATE"] = 0.5
    assert most_at_once() == 1
    app.config["SEND_RATE"] = 8
    assert most_at_once() == 8
