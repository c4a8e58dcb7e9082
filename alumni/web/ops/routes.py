"""``/healthz`` for load balancers (open to all), ``/metrics`` for Prometheus (a bearer token,
or this machine only)."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alumni.core.metrics import Collector
from alumni.erasure.gauges import erasure_gauges
from alumni.extensions import csrf, db
from alumni.web.clients import is_loopback
from alumni.web.ops import bp

# Headers a reverse proxy adds: with none trusted (TRUSTED_PROXIES=0) a request that carries
# one came through a proxy, so its loopback address is the proxy's, not the client's.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


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
    refusal = scraper_refusal()
    if refusal is not None:
        return refusal
    registry = CollectorRegistry()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    registry.register(Collector(app, gauges=(erasure_gauges,)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def scraper_refusal() -> Response | None:
    """``METRICS_TOKEN`` set: only ``Authorization: Bearer METRICS_TOKEN`` (compared in constant
    time). Unset: only a client on this machine, by the address the app trusts (ProxyFix with
    TRUSTED_PROXIES takes it from the proxy's X-Forwarded-For; a header the client forged is
    never the one read), and never a request that came through a proxy it does not trust."""
    expected = current_app.config.get("METRICS_TOKEN")
    if expected:
        scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected.encode()
        ):
            response = Response("a bearer token is required\n", 401, mimetype="text/plain")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return None
    forwarded = not current_app.config["TRUSTED_PROXIES"] and any(
        name in request.headers for name in FORWARDING_HEADERS
    )
    if forwarded or not is_loopback(request.remote_addr):
        return Response("only this machine may read the metrics\n", 403, mimetype="text/plain")
    return None
