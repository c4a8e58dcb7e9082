from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alumni.core.metrics import Collector
from alumni.erasure.gauges import erasure_gauges
from alumni.extensions import csrf, db
from alumni.web.ops import bp


@bp.get("/healthz")
@csrf.exempt
def healthz() -> tuple[Response, int]:
    """Alive, and whether the database and the broker answer (503 if one does not)."""
    checks = {
        "database": _check(lambda: db.session.execute(sa.text("SELECT 1"))),
        "broker": _check(_ping_broker),
    }
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503


def _check(probe: object) -> str:
    try:
        probe()  # type: ignore[operator]
    except Exception as error:  # any failure is the answer we report
        db.session.rollback()
        return f"error: {type(error).__name__}"
    return "ok"


def _ping_broker() -> None:
    broker = current_app.extensions["dramatiq"].broker
    client = getattr(broker, "client", None)
    if client is not None:
        client.ping()


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    registry.register(Collector(app, gauges=(erasure_gauges,)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
