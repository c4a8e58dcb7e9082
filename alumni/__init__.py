"""Alumni consent and mailing service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app; ``config`` overrides what the environment says (tests use it)."""
    from alumni import cli, mail, opens
    from alumni.config import load_config
    from alumni.core import i18n, metrics
    from alumni.extensions import csrf, db, limiter, migrate
    from alumni.opens import pixel as tracking
    from alumni.web import request_size, security
    from alumni.web.staff import session as staff_session

    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.update(load_config(Path(app.instance_path)))
    app.config.update(config or {})
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    request_size.init_app(app)  # its hook must run before CSRF's and the limiter's
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    staff_session.init_app(app)
    mail.init_app(app)
    metrics.init_app(app)
    opens.init_app(app)

    import worker

    worker.init_app(app)
    _register_blueprints(app)
    tracking.init_app(app)
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
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
