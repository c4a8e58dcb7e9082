"""What ``/metrics`` says of erasure: requests not done yet, and the ledger not applied."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from alumni.erasure.operation import pending_requests
from alumni.erasure.position import bytes_behind
from alumni.extensions import db


def erasure_gauges() -> Iterator[Metric]:
    """Erasures not done yet (alert when it stays above 0), and how far the database is behind
    the erasure ledger (above 0 after a restore, until the replay has run)."""
    try:
        pending, behind = pending_requests(), bytes_behind()
    except Exception:  # the database is down: /healthz says so, the counters still count
        db.session.rollback()
        return
    yield GaugeMetricFamily(
        "alumni_erasures_pending", "Erasure requests not carried out yet", value=pending
    )
    yield GaugeMetricFamily(
        "alumni_erasure_ledger_behind_bytes",
        "Bytes of the erasure ledger the database has not applied",
        value=behind,
    )
