"""A backup restore brings nobody back: back up the database (pg_dump, or a copy of the SQLite
file), erase some people, restore the backup, start the app. Before any campaign sends,
those people are erased again from the ledger; none of them is mailed or can be imported
again; a second replay changes nothing (I2, I6 after a restore)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from alumni import create_app, erasure
from alumni.campaigns import sending
from alumni.campaigns.service import schedule
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, EvidenceChannel, SuppressionReason
from alumni.models.purpose import Purpose
from alumni.people.importer import import_graduates
from tests.conftest import POSTGRES_URL, base_config, finish_jobs
from tests.support.factories import CSV_HEADER, answer, make_campaign
from tests.support.privacy import distinctive_alumnus, personal_values, scan_database

STAFF = {"reason": SuppressionReason.ERASED, "channel": EvidenceChannel.STAFF, "actor": "staff:1"}


def back_up(database_url: str, folder: Path) -> Path:
    db.session.remove()
    db.engine.dispose()  # SQLite: the last connection closing checkpoints the WAL into the file
    if database_url.startswith("sqlite"):
        copy = folder / "backup.sqlite3"
        shutil.copy(database_url.removeprefix("sqlite:///"), copy)
        return copy
    dump = folder / "backup.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), database_url], check=True, timeout=120)
    return dump


@contextmanager
def restored(database_url: str, backup: Path, folder: Path) -> Iterator[str]:
    """The backup restored into a database of its own; yields its URL."""
    if database_url.startswith("sqlite"):
        path = folder / "restored.sqlite3"
        shutil.copy(backup, path)
        yield f"sqlite:///{path}"
        return
    import psycopg

    name = database_url.rpartition("/")[2] + "_restored"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    url = f"{POSTGRES_URL}/{name}"
    subprocess.run(["pg_restore", "--no-owner", "-d", url, str(backup)], check=True, timeout=120)
    try:
        yield url
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_app(url: str, folder: Path, ledger: str) -> Flask:
    """The app as it starts on the restored database, with the same ledger."""
    folder.mkdir()
    return create_app(
        base_config(folder, url, ERASURE_LEDGER_PATH=ledger), instance_path=str(folder)
    )


def erased_again(app: Flask) -> int:
    result = app.test_cli_runner().invoke(args=["erasure", "replay"])
    assert result.exit_code == 0, result.output
    return int(re.findall(r"\d+", result.output)[-1])


@pytest.mark.parametrize("first", ["campaign", "command"])
def test_people_erased_after_the_backup_stay_erased_after_a_restore(
    app, database_url, tmp_path, first
):
    people = [distinctive_alumnus() for _ in range(5)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    before_backup, after_backup, staying = people[0], people[1:3], people[3:]
    erasure.erase_alumnus(before_backup, **STAFF)
    db.session.commit()
    ids = [person.id for person in after_backup]
    values = [value for person in after_backup for value in personal_values(person)]
    addresses = [person.email for person in after_backup]
    mailed = sorted(person.email for person in staying)

    backup = back_up(database_url, tmp_path)
    for person in (db.session.get(Alumnus, i) for i in ids):
        erasure.request_erasure(person, **STAFF)
        db.session.commit()
    finish_jobs(app)
    assert scan_database(values) == []
    ledger = app.config["ERASURE_LEDGER_PATH"]

    with restored(database_url, backup, tmp_path) as url:
        second = start_app(url, tmp_path / "restored-instance", ledger)
        with second.app_context():
            assert {db.session.get(Alumnus, i).status for i in ids} == {AlumnusStatus.RESPONDED}
            try:
                if first == "campaign":
                    # A campaign due at once: its batch replays before it sends anything.
                    schedule(make_campaign(Purpose.EVENTS))
                    db.session.commit()
                    sending.tick()
                    finish_jobs(second)
                    assert sorted(m["To"] for m in second.extensions["mail"].outbox) == mailed
                else:
                    assert erased_again(second) == 2  # the operator's step after a restore
                assert erased_again(second) == 0
                assert erased_again(second) == 0

                assert {db.session.get(Alumnus, i).status for i in ids} == {AlumnusStatus.ERASED}
                assert scan_database(values) == []
                rows = [
                    f"T{n},Anna,Elders,,{address},,f,2000-01-01,Zorg,2022"
                    for n, address in enumerate(addresses)
                ]
                report = import_graduates(("\n".join([CSV_HEADER, *rows]) + "\n").encode())
                assert [r.code for r in report.rejected] == ["suppressed", "suppressed"]
            finally:
                second.extensions["dramatiq"].stop()
                db.session.remove()
                db.engine.dispose()
