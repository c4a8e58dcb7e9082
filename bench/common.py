"""What the benchmarks share: the app on a freshly migrated database."""

from __future__ import annotations

import os
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


def processes() -> Iterator[tuple[int, str, list[str]]]:
    """Every process now: pid, name, and the fields of ``/proc/PID/stat`` after the name
    (state, ppid, pgrp, …; utime and stime are 11 and 12)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # ended meanwhile
        head, _, rest = stat.rpartition(")")
        yield int(entry), head.partition("(")[2], rest.split()


def postgres_seconds() -> float:
    """CPU time of every PostgreSQL process on this machine so far."""
    ticks = sum(
        int(fields[11]) + int(fields[12])  # utime, stime
        for _, name, fields in processes()
        if name == "postgres"
    )
    return ticks / os.sysconf("SC_CLK_TCK")
