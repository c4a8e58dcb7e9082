"""What the benchmarks share: where PostgreSQL and Redis are, fresh databases, the app on a
freshly migrated one, stopping the servers they start, and CPU time read off ``/proc``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from alumni import create_app  # noqa: E402
from alumni.extensions import db  # noqa: E402

POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def fresh_database(name: str) -> str:
    """Drop and create the PostgreSQL database ``name``; returns its URL."""
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    return f"{POSTGRES_SERVER}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """A server started in a session of its own, and its children: asked to stop, then
    killed after ``timeout`` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


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
