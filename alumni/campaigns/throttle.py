"""The send rate: at most ``SEND_RATE`` messages per second over every worker together.

With Redis the workers share a counter per second; without it, one process sends, and a
token bucket in memory does.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

from flask import current_app


class Throttle(Protocol):
    def wait(self, messages: int = 1) -> None:
        """Block until this many more messages may leave (at most ``most_at_once()``)."""


class Unlimited:
    def wait(self, messages: int = 1) -> None:
        return None


class LocalThrottle:
    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, messages: int = 1) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval * messages
        if slot > now:
            time.sleep(slot - now)


class RedisThrottle:
    """A fixed window, counted in Redis by every worker on every host: one second, or as many
    seconds as one message takes when the rate is below one a second."""

    def __init__(self, url: str, rate: float, key: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.window = max(1, math.ceil(1 / rate))
        self.allowed = rate * self.window
        self.key = key

    def wait(self, messages: int = 1) -> None:
        while True:
            now = time.time()
            start = int(now) // self.window * self.window
            key = f"{self.key}:{start}"
            pipeline = self.redis.pipeline()
            pipeline.incrby(key, messages)
            pipeline.expire(key, self.window + 5)
            count, _ = pipeline.execute()
            if count <= self.allowed:
                return
            time.sleep(start + self.window - now)


def most_at_once() -> int | None:
    """How many messages one ``wait`` may ask for (what one second allows, at least one), or
    None when the rate is unlimited."""
    rate = current_app.config["SEND_RATE"]
    return max(1, int(rate)) if rate > 0 else None


def throttle() -> Throttle:
    """The app's throttle, made once per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    existing = app.extensions.get("throttle")
    if existing is not None:
        return existing
    rate = app.config["SEND_RATE"]
    made: Throttle
    if rate <= 0:
        made = Unlimited()
    elif app.config["REDIS_URL"]:
        key = f"{app.config['DRAMATIQ_NAMESPACE']}:send-rate"
        made = RedisThrottle(app.config["REDIS_URL"], rate, key)
    else:
        made = LocalThrottle(rate)
    app.extensions["throttle"] = made
    return made
