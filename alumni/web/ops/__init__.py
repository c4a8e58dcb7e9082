"""Operations: liveness and readiness (``/healthz``) and Prometheus metrics (``/metrics``)."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from alumni.web.ops import routes  # noqa: E402, F401
