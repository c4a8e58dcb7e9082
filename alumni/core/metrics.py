"""Counters for ``/metrics``, shared by every process that does the work.

Web processes record consent changes and workers record emails, on any number of hosts: with
Redis the counts live in one Redis hash that every process increments, so that one scrape of
any web process sees them all. Without Redis (embedded mode) one process does everything, and
the counts live in its memory.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from flask import Flask, current_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

# name -> (help, label names)
COUNTERS = {
    "alumni_emails_sent": ("Campaign emails handed to SMTP", ("purpose",)),
    "alumni_emails_skipped": ("Campaign recipients skipped at send time", ("reason",)),
    "alumni_emails_failed": ("Campaign emails refused for good by SMTP", ("reason",)),
    "alumni_consent_changes": ("Consent decisions recorded", ("purpose", "decision")),
    "alumni_consent_renewals": ("Consents kept when asked again", ("purpose",)),
    "alumni_erasures": ("Alumni erased (a replay after a restore included)", ("reason",)),
    "alumni_links_refused": ("Signed links refused (I8)", ("page", "reason")),
    "alumni_access_refused": (
        "Requests refused with 401 or 403, and whether the audit log got them (its limit)",
        ("status", "audit_logged"),
    ),
}
SEPARATOR = "|"


class LocalCounts:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] += amount

    def all(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class RedisCounts:
    def __init__(self, url: str, key: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2)
        self.key = key

    def add(self, key: str, amount: int = 1) -> None:
        import redis

        # A metric is not worth failing a send or a consent for.
        with contextlib.suppress(redis.RedisError):
            self.redis.hincrby(self.key, key, amount)

    def all(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.redis.hgetall(self.key).items()}


def init_app(app: Flask) -> None:
    if app.config["REDIS_URL"]:
        key = f"{app.config['DRAMATIQ_NAMESPACE']}:metrics"
        app.extensions["metrics"] = RedisCounts(app.config["REDIS_URL"], key)
    else:
        app.extensions["metrics"] = LocalCounts()


def count(name: str, *labels: str) -> None:
    """Add one to a counter of ``COUNTERS``, with its label values in order."""
    current_app.extensions["metrics"].add(SEPARATOR.join((name, *labels)))


def count_many(tally: Counter[tuple[str, ...]]) -> None:
    """Add a batch's worth of counts at once: ``(name, *labels) -> amount``."""
    store = current_app.extensions["metrics"]
    for key, amount in tally.items():
        store.add(SEPARATOR.join(key), amount)


Gauges = Callable[[], Iterator[Metric]]


class Collector:
    """Reads the shared counts, the queue depth and the given ``gauges`` at scrape time."""

    def __init__(self, app: Flask, gauges: Iterable[Gauges] = ()) -> None:
        self.app = app
        self.gauges = tuple(gauges)

    def collect(self) -> Iterator[Metric]:
        families = {
            name: CounterMetricFamily(name, help_text, labels=list(labels))
            for name, (help_text, labels) in COUNTERS.items()
        }
        for key, value in self.app.extensions["metrics"].all().items():
            name, *labels = key.split(SEPARATOR)
            if name in families and len(labels) == len(COUNTERS[name][1]):
                families[name].add_metric(labels, value)
        yield from families.values()
        depth = GaugeMetricFamily("alumni_queue_depth", "Messages waiting", labels=["queue"])
        for queue, size in self.app.extensions["dramatiq"].queue_depths().items():
            depth.add_metric([queue], size)
        yield depth
        for gauges in self.gauges:
            yield from gauges()
