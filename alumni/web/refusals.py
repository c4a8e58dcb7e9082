"""Refused requests in the audit log (ASVS 7.1.3, 7.2.2): every 401 and 403, of the API, the
staff pages and /metrics, and a staff page that sent an anonymous visitor to the login.

An entry says which route refused (its template, never the path: paths hold link tokens),
the method, the status, why when it is known, and who asked when that is known: never a token,
an address typed or a client address. So that a flood of refusals cannot fill the log, at most
AUDIT_REFUSALS_PER_CLIENT per client address and AUDIT_REFUSALS_TOTAL in all are written,
counted in Flask-Limiter's storage (Redis when there is one, shared by every process); every
refusal is counted in /metrics, written or not.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, request
from flask_login import current_user
from flask_login.signals import user_unauthorized
from limits import parse_many

from alumni import audit
from alumni.core.metrics import count
from alumni.extensions import db, limiter

log = logging.getLogger(__name__)

ACTION = "access.refused"
REFUSED_STATUSES = (401, 403)
LOGIN_REQUIRED = "login-required"
NAMESPACE = "audit-refusals"


def init_app(app: Flask) -> None:
    app.after_request(record_refusal)
    user_unauthorized.connect(_sent_to_login, app)


def _sent_to_login(sender: Flask, **extra: object) -> None:
    """Flask-Login sends an anonymous visitor of a staff page to the login (a 302): to the
    audit log that is a 401."""
    g.access_refused = LOGIN_REQUIRED


def record_refusal(response: Response) -> Response:
    sent_to_login = g.pop("access_refused", None) == LOGIN_REQUIRED
    status = 401 if sent_to_login else response.status_code
    if status not in REFUSED_STATUSES:
        return response
    written = "no"
    try:
        if _within_limits():
            actor = _actor()
            db.session.rollback()  # a refused request keeps nothing but this entry
            audit.record(ACTION, actor=actor, **_details(status, sent_to_login))
            db.session.commit()
            written = "yes"
    except Exception as error:  # the refusal stands; only its entry is lost
        db.session.rollback()
        log.warning("refusal not audit-logged: %s", type(error).__name__)
    count("alumni_access_refused", str(status), written)
    return response


def _within_limits() -> bool:
    """One hit on the client's limits, then (if within) on the total's."""
    config = current_app.config
    strategy = limiter.limiter
    client = request.remote_addr or "unknown"
    per_client = parse_many(config["AUDIT_REFUSALS_PER_CLIENT"])
    if not all([strategy.hit(item, NAMESPACE, "client", client) for item in per_client]):
        return False
    total = parse_many(config["AUDIT_REFUSALS_TOTAL"])
    return all([strategy.hit(item, NAMESPACE, "total") for item in total])


def _actor() -> str:
    api_staff = g.get("api_staff")
    if api_staff is not None:
        return f"staff:{api_staff.id}"
    if current_user and current_user.is_authenticated:
        return f"staff:{current_user.staff.id}"
    return "anonymous"


def _details(status: int, sent_to_login: bool) -> dict[str, object]:
    details: dict[str, object] = {
        "endpoint": request.endpoint,
        "route": request.url_rule.rule if request.url_rule is not None else None,
        "method": request.method,
        "status": status,
    }
    reason = LOGIN_REQUIRED if sent_to_login else g.get("api_refusal")
    if reason is not None:
        details["reason"] = str(reason)
    return details
