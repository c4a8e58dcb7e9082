"""Fixtures: the app on SQLite and on PostgreSQL, its client and CLI runner, an SMTP server on
loopback, and factories for test data.

Tests that take ``app`` run once per database. Without ``CI`` a database that is not there is
skipped with the reason; with ``CI=true`` it must be there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from alumni import create_app
from alumni.extensions import db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
# One database per test run, so that runs side by side do not empty each other's tables.
POSTGRES_DB = f"alumni_test_{os.getpid()}"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

TEST_KEYS = {
    "SECRET_KEY": "test-secret-key-" + "x" * 32,
    "SECRET_KEY_FALLBACKS": [],
    "SUPPRESSION_KEY": "test-suppression-key-" + "y" * 32,
    "PSEUDONYM_KEY": "test-pseudonym-key-" + "z" * 32,
}


def require(part: str, available: bool, reason: str) -> None:
    """Skip without the part, except in CI, where every part must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{part} is required in CI: {reason}")
    pytest.skip(f"{part} not available: {reason}")


def postgres_available() -> tuple[bool, str]:
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=2):
            return True, ""
    except Exception as error:  # any failure means: not usable here
        return False, f"{POSTGRES_URL}: {type(error).__name__}"


def base_config(tmp_path: Path, database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "SMTP_URL": None,
        "MAIL_BACKEND": "memory",
        "DEV_OUTBOX": False,
        "OUTBOX_PATH": str(tmp_path / "outbox"),
        "ERASURE_LEDGER_PATH": str(tmp_path / "erasure-ledger.jsonl"),
        "BASE_URL": "http://alumni.test",
        "RATELIMIT_ENABLED": True,
        **TEST_KEYS,
        **overrides,
    }


# -- translations -----------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Pages need the .mo files (not in git): compile those missing or older than their .po,
    as `make translations` does, so that `pytest` alone also runs in Dutch."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    translations = Path(__file__).resolve().parent.parent / "alumni" / "translations"
    for po in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as handle:
            catalogue = read_po(handle)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as out:
            write_mo(out, catalogue)
        partial.replace(mo)


# -- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    app = create_app(base_config(folder, f"sqlite:///{path}"), instance_path=str(folder))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database migrated once; tables are emptied after each test."""
    available, reason = postgres_available()
    require("PostgreSQL", available, reason)
    import psycopg

    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {POSTGRES_DB}")
    url = f"{POSTGRES_URL}/{POSTGRES_DB}"
    folder = tmp_path_factory.mktemp("postgres")
    app = create_app(base_config(folder, url), instance_path=str(folder))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield url
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")


# Published by the migration (0012) and in force in every test, as in a new installation.
FIRST_NOTICE = "2026-11"


def empty_tables() -> None:
    """Every table as the migrations left it: empty, but for the first privacy notice."""
    tables = ", ".join(
        table.name for table in db.metadata.sorted_tables if table.name != "privacy_notices"
    )
    with db.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            sa.text("DELETE FROM privacy_notices WHERE version <> :first"), {"first": FIRST_NOTICE}
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_database")
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "alumni.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module to configure the app differently."""
    return {}


@pytest.fixture
def app(tmp_path: Path, database_url: str, config_overrides: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(
        base_config(tmp_path, database_url, **config_overrides), instance_path=str(tmp_path)
    )
    with app.app_context():
        yield app
        app.extensions["dramatiq"].stop()
        app.extensions["mail"].close_all()
        db.session.remove()
        if database_url.startswith("postgresql"):
            empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def outbox(app: Flask) -> list[EmailMessage]:
    """Messages sent through the in-memory backend."""
    return app.extensions["mail"].outbox


def finish_jobs(app: Flask) -> None:
    """Let the in-process worker finish what was queued."""
    app.extensions["dramatiq"].finish_queued_work()


# -- an SMTP server on loopback ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SMTPSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    # When each message was accepted (time.time()), to order it against other events.
    received_at: list[float] = field(default_factory=list)
    # Seconds to wait before accepting a message: a slow relay keeps messages in flight.
    delay: float = 0.0
    # From the n-th message on, each is kept but its "250" waits until ``released`` is set:
    # the message is on the server while its sender has not heard so (for the crash test).
    hold_from: int | None = None
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received_at.append(time.time())
            held = self.hold_from is not None and len(self.messages) >= self.hold_from
        while held and not self.released.is_set():
            await asyncio.sleep(0.01)
        return "250 OK"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for _, rcpts in self.envelopes for rcpt in rcpts]


@pytest.fixture
def smtp_server() -> Iterator[SMTPSink]:
    from aiosmtpd.controller import Controller

    sink = SMTPSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
