"""Bounces and complaints from the mail providers that send for the school:
``POST /api/v1/bounces/ses`` (Amazon SES through SNS) and ``POST /api/v1/bounces/postmark``.

No staff token here: the provider's signature (SNS) or the credentials in the webhook URL
(Postmark) authenticate the request, and a request that fails that check is answered 401 and
audit-logged (alumni/web/refusals.py) with nothing handed on. A webhook whose configuration is
unset does not exist (404). The answers tell the provider what to do: 2xx done, 4xx never send
this again, 503 send it again later (a certificate that could not be fetched, a database that
could not store the reports).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, request

from alumni.bounces import providers
from alumni.bounces.providers import postmark, ses
from alumni.bounces.reports import Report
from alumni.extensions import db, limiter
from alumni.web.api import bp
from alumni.web.api.auth import provider_webhook
from alumni.web.api.errors import ApiError, error_response
from alumni.web.api.inputs import JSON, body_types

SES = "ses"
POSTMARK = "postmark"
POSTMARK_CHALLENGE = 'Basic realm="alumni-bounces"'
RETRY_AFTER = {"Retry-After": "60"}


def _rate_limit() -> str:
    return str(current_app.config["BOUNCE_WEBHOOK_RATE_LIMIT"])


@bp.post("/bounces/ses")
@provider_webhook
# SNS posts its JSON with Content-Type text/plain; charset=UTF-8 (application/json only when
# the subscription's delivery policy says so): both are taken here, and only here.
@body_types(JSON, "text/plain")
@limiter.limit(_rate_limit)
def ses_notification() -> Response:
    config = current_app.config
    if not config["SES_SNS_TOPIC_ARNS"]:
        raise ApiError(404, "not found")
    reports = ses.notification_reports(
        request.get_data(),
        topics=config["SES_SNS_TOPIC_ARNS"],
        cert_hosts=config["SES_SNS_CERT_HOSTS"],
    )
    return _deliver(reports, SES)


@bp.post("/bounces/postmark")
@provider_webhook
@limiter.limit(_rate_limit)
def postmark_webhook() -> Response:
    config = current_app.config
    user, password = config["POSTMARK_WEBHOOK_USER"], config["POSTMARK_WEBHOOK_PASSWORD"]
    if not user or not password:
        raise ApiError(404, "not found")
    given = request.authorization
    if given is None or given.type != "basic":
        raise providers.NotAuthentic(providers.Refusal.BAD_CREDENTIALS)
    postmark.check_credentials(
        given.username or "", given.password or "", expected=(user, password)
    )
    return _deliver(postmark.webhook_reports(request.get_data()), POSTMARK)


def _deliver(reports: list[Report], source: str) -> Response:
    try:
        providers.deliver_reports(reports, source)
        db.session.commit()
    except sa.exc.OperationalError:
        db.session.rollback()
        raise ApiError(
            503, "the reports could not be stored: send them again", RETRY_AFTER
        ) from None
    return jsonify(reports=len(reports))


@bp.errorhandler(providers.NotAuthentic)
def not_authentic(error: providers.NotAuthentic) -> Response:
    db.session.rollback()
    g.api_refusal = error.reason
    basic = error.reason is providers.Refusal.BAD_CREDENTIALS
    challenge = {"WWW-Authenticate": POSTMARK_CHALLENGE} if basic else {}
    return error_response(401, f"refused: {error.reason}", challenge)


@bp.errorhandler(providers.NotOurs)
def not_ours(error: providers.NotOurs) -> Response:
    db.session.rollback()
    g.api_refusal = error.reason
    return error_response(403, "refused: the topic is not one of SES_SNS_TOPIC_ARNS")


@bp.errorhandler(providers.Malformed)
def malformed(error: providers.Malformed) -> Response:
    db.session.rollback()
    return error_response(400, str(error))


@bp.errorhandler(providers.ProviderUnreachable)
def provider_unreachable(error: providers.ProviderUnreachable) -> Response:
    db.session.rollback()
    return error_response(503, f"the provider could not be reached: {error}", RETRY_AFTER)
