"""Alumni consent and mailing service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app; ``config`` overrides what the environment says (tests use it)."""
    from alumni import cli, mail, opens, web
    from alumni.config import load_config
    from alumni.core import languages, metrics
    from alumni.extensions import db, migrate
    from alumni.opens import pixel

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
    web.init_app(app)
    languages.init_app(app)
    mail.init_app(app)
    metrics.init_app(app)
    opens.init_app(app)

    import worker

    worker.init_app(app)
    web.register_blueprints(app)
    pixel.init_app(app)  # the outermost layer: the pixel never reaches Flask
    cli.init_app(app)
    return app
