"""The web adapters: one blueprint per actor (alumni pages, staff pages, the JSON API,
operations, the dev outbox, error pages) and what every response shares."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What every request goes through, in this order: the size of its body (first, since
    CSRF's and the rate limiter's hooks read the form), CSRF, rate limits, the response
    headers, refusals into the audit log, staff sessions; and access logs without tokens."""
    from alumni.extensions import csrf, limiter
    from alumni.web import access_log, refusals, request_size, security
    from alumni.web.staff import session, sso

    request_size.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    refusals.init_app(app)
    session.init_app(app)
    sso.init_app(app)
    access_log.quiet_dev_server()


def register_blueprints(app: Flask) -> None:
    from alumni.web.alumni import bp as alumni_bp
    from alumni.web.api import bp as api_bp
    from alumni.web.dev import bp as dev_bp
    from alumni.web.errors import bp as errors_bp
    from alumni.web.ops import bp as ops_bp
    from alumni.web.staff import bp as staff_bp

    app.register_blueprint(errors_bp)
    app.register_blueprint(alumni_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(dev_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(ops_bp)
