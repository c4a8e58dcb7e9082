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
    def wait(self) -> None:
        """Block until one more message may leave."""


class Unlimited:
    def wait(self) -> None:
        return None


class LocalThrottle:
    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class RedisThrottle:
    """A fixed window of one second, counted in Redis by every worker on every host."""

    def __init__(self, url: str, rate: float, key: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.rate = rate
        self.key = key

    def wait(self) -> None:
        while True:
            now = time.time()
            second = int(now)
            window = f"{self.key}:{second}"
            pipeline = self.redis.pipeline()
            pipeline.incr(window)
            pipeline.expire(window, 5)
            count, _ = pipeline.execute()
            if count <= self.rate:
                return
            time.sleep(second + 1 - now)


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
