"""What the benchmarks share: the app on a freshly migrated database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from alumni import create_app  # noqa: E402
from alumni.extensions import db  # noqa: E402


@contextmanager
def migrated_app(url: str, folder: Path, **overrides: object) -> Iterator[Flask]:
    """The app on a freshly migrated database, inside an app context; no Redis, no SMTP."""
    from flask_migrate import upgrade

    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": None,
        "SMTP_URL": None,
        "DEV_OUTBOX": False,
        "OUTBOX_PATH": str(folder / "outbox"),
        "ERASURE_LEDGER_PATH": str(folder / "erasure-ledger.jsonl"),
        **overrides,
    }
    app = create_app(config, instance_path=str(folder))
    with app.app_context():
        upgrade()
        try:
            yield app
        finally:
            app.extensions["dramatiq"].stop()
            db.session.remove()
            db.engine.dispose()
