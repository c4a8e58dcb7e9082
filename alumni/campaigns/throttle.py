"""The send rate: at most ``SEND_RATE`` messages per second over every worker together.

With Redis the workers share a counter per second; without it, one process sends, and a
token bucket in memory does.
"""

from __future__ import annotations

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
    """A fixed window of one second, counted in Redis by every worker on every host."""

    def __init__(self, url: str, rate: float, key: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.rate = rate
        self.key = key

    def wait(self, messages: int = 1) -> None:
        while True:
            now = time.time()
            second = int(now)
            window = f"{self.key}:{second}"
            pipeline = self.redis.pipeline()
            pipeline.incrby(window, messages)
            pipeline.expire(window, 5)
            count, _ = pipeline.execute()
            if count <= self.rate:
                return
            time.sleep(second + 1 - now)


def most_at_once() -> int | None:
    """How many messages one ``wait`` may ask for: the rate of one second, None when unlimited."""
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
