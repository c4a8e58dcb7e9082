"""``alumni bounces ingest`` as the MTA runs it: a process reading one message on standard
input. 75 (EX_TEMPFAIL) when the report could not be stored, so that the MTA keeps the
message; the retry then processes it. Run for real: a database server that refuses
connections (PostgreSQL), a database file that cannot be opened (SQLite: its folder is not
mounted, say; a lock held longer than the busy timeout of a minute ends the same way)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, AuditEntry
from tests.conftest import TEST_KEYS, free_port
from tests.support.bounces import BOUNCE_ADDRESS, mailed_person

ALUMNI = shutil.which("alumni", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin"))


@pytest.fixture
def config_overrides():
    return {"BOUNCE_ADDRESS": BOUNCE_ADDRESS}


def ingest(database_url: str, message: bytes, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "BOUNCE_ADDRESS": BOUNCE_ADDRESS,
        "ERASURE_LEDGER_PATH": str(tmp_path / "ledger.jsonl"),
        "RECIPIENT": "bounces@school.example",  # what Postfix's pipe sets besides the headers
        **{key: value for key, value in TEST_KEYS.items() if isinstance(value, str)},
    }
    return subprocess.run(
        [ALUMNI or "alumni", "bounces", "ingest"],
        input=message,
        env=env,
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )


def unavailable(database_url: str, tmp_path: Path) -> str:
    """The database as the command will find it: refusing connections, or not there."""
    if database_url.startswith("postgresql"):
        return f"postgresql://postgres@127.0.0.1:{free_port()}/alumni"
    return f"sqlite:///{tmp_path / 'not-mounted' / 'alumni.sqlite3'}"


def test_a_report_that_cannot_be_stored_exits_75_and_the_retry_processes_it(
    app, outbox, database_url, tmp_path
):
    mailed = mailed_person(app, outbox)
    message = mailed.message("dsn-postfix-hard.eml")
    db.session.commit()

    failed = ingest(unavailable(database_url, tmp_path), message, tmp_path)
    assert failed.returncode == 75, failed.stderr.decode()
    assert "probeert het later opnieuw" in failed.stderr.decode()
    assert mailed.address.encode() not in failed.stderr + failed.stdout
    assert fresh_mark(mailed) is None

    retried = ingest(database_url, message, tmp_path)
    assert retried.returncode == 0, retried.stderr.decode()
    assert retried.stdout.decode().split() == ["undeliverable", "(tag)"]
    assert fresh_mark(mailed) is not None
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("address.undeliverable") == 1


def test_what_is_deliberately_ignored_exits_0_without_a_database(app, outbox, tmp_path):
    mailed = mailed_person(app, outbox)
    refusing = f"postgresql://postgres@127.0.0.1:{free_port()}/alumni"
    for name in ("out-of-office.eml", "not-a-bounce.eml"):
        result = ingest(refusing, mailed.message(name), tmp_path)
        assert result.returncode == 0, result.stderr.decode()


def fresh_mark(mailed):
    db.session.expire_all()
    return db.session.get(Alumnus, mailed.alumnus.id).undeliverable_at
