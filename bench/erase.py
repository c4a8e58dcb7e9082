"""Benchmark of erasure: requests, the erasure jobs, and the replay after a restore.

A freshly migrated database holds N alumni (fictional, at example.org) who answered the
consent form (two consents, two evidence rows each) and got one campaign email (a delivery
row each). Then, timed:

1. requests: ``request_erasure`` and a commit per person, one after the other, as the
   clicks on the opt-out page do (consents withdrawn with evidence, suppression hashes,
   the request row); the jobs are held back;
2. erasures: the N ``erase_alumnus`` jobs through the in-process dramatiq worker
   (``--threads`` threads), all queued at once, as a backlog is (after a campaign, Redis
   back after an outage): each job erases its own request and up to ``--group`` - 1 others
   waiting in one transaction, with one ledger append (fsync) before its commit; the jobs
   of those find their request done;
3. replay: the same N alumni in a new database, as a backup restored from before the
   erasures, and ``erasure replay`` applying the ledger of step 2 to it.

Every run checks its outcome: N erased, N ledger lines, nothing pending, the database
caught up with the ledger. Each step's line also says what it cost per person: SQL statements
(counted by an SQLAlchemy event listener; the driver's BEGIN and COMMIT and the pool's ping
are not statements), CPU time of this process (every thread) and of PostgreSQL's processes,
and the load average (1 minute) at its end.

    .venv/bin/python bench/erase.py --people 10000 --database both

Goal: at least 200 erasures/s (the jobs, step 2) on each database; the script exits with 1
below it.

PostgreSQL: the databases ``alumni_bench_erase_live`` and ``alumni_bench_erase_restored`` are
dropped and created on BENCH_POSTGRES_URL (default ``postgresql://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import fresh_database, migrated_app, postgres_seconds  # noqa: E402
from flask import Flask  # noqa: E402

from alumni import erasure  # noqa: E402
from alumni.core.pseudonyms import student_key  # noqa: E402
from alumni.erasure import ledger, operation, position  # noqa: E402
from alumni.extensions import db  # noqa: E402
from alumni.models import (  # noqa: E402
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignStatus,
    Consent,
    ConsentEvidence,
    ConsentState,
    Delivery,
    DeliveryStatus,
    EvidenceChannel,
    Gender,
    SuppressionReason,
    utcnow,
)
from alumni.models.purpose import Purpose  # noqa: E402

POSTGRES_DB = "alumni_bench_erase"
CHUNK = 5000
KEYS = {
    "SECRET_KEY": "bench-secret-key-" + "x" * 32,
    "SUPPRESSION_KEY": "bench-suppression-key-" + "y" * 32,
    "PSEUDONYM_KEY": "bench-pseudonym-key-" + "z" * 32,
}
GRANTED = (Purpose.EVENTS, Purpose.COURSES)
GOAL = 200  # erasures per second


def sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / (name + '.sqlite3')}"


def postgres_url(folder: Path, name: str) -> str:
    return fresh_database(f"{POSTGRES_DB}_{name}")


DATABASES: dict[str, Callable[[Path, str], str]] = {
    "sqlite": sqlite_url,
    "postgresql": postgres_url,
}


@contextmanager
def erasure_app(url: str, folder: Path, threads: int) -> Iterator[Flask]:
    with migrated_app(url, folder, MAIL_BACKEND="memory", **KEYS) as app:
        app.extensions["dramatiq"].in_process.threads = threads
        yield app


def populate(people: int) -> None:
    """N alumni who answered and got one campaign email; the same N for the same argument."""
    now = utcnow()
    campaign = Campaign(
        purpose=Purpose.EVENTS,
        subject="Reünie",
        body="Kom ook!",
        status=CampaignStatus.SENT,
        started_at=now,
        finished_at=now,
    )
    db.session.add(campaign)
    db.session.flush()
    for start in range(1, people + 1, CHUNK):
        numbers = range(start, min(start + CHUNK, people + 1))
        db.session.execute(sa.insert(Alumnus), [alumnus_row(n, now) for n in numbers])
        db.session.execute(
            sa.insert(Consent),
            [
                {
                    "alumnus_id": n,
                    "purpose": p,
                    "state": ConsentState.GRANTED,
                    "changed_at": now,
                    "notice_version": "2026-11",
                }
                for n in numbers
                for p in GRANTED
            ],
        )
        db.session.execute(
            sa.insert(ConsentEvidence),
            [
                {
                    "subject_id": f"bench{n:012d}",
                    "purpose": p,
                    "decision": ConsentState.GRANTED,
                    "recorded_at": now,
                    "notice_version": "2026-11",
                    "channel": EvidenceChannel.OPTIN_FORM,
                }
                for n in numbers
                for p in GRANTED
            ],
        )
        db.session.execute(
            sa.insert(Delivery),
            [
                {
                    "campaign_id": campaign.id,
                    "alumnus_id": n,
                    "status": DeliveryStatus.SENT,
                    "attempts": 1,
                    "created_at": now,
                    "finished_at": now,
                }
                for n in numbers
            ],
        )
        db.session.commit()


def alumnus_row(n: int, now: object) -> dict[str, object]:
    return {
        "id": n,
        "subject_id": f"bench{n:012d}",
        "student_key": student_key(f"B{n:07d}"),
        "status": AlumnusStatus.RESPONDED,
        "locale": "nl",
        "link_version": 1,
        "first_name": "Sanne",
        "last_name": f"de Vries {n}",
        "preferred_name": None,
        "programme": "Verpleegkunde",
        "phone": f"+3161{n:07d}",
        "email": f"sanne.{n}@example.org",
        "gender": Gender.FEMALE,
        "date_of_birth": date(1990, 1, 1) + timedelta(days=n % 3650),
        "graduation_year": 2015 + n % 10,
        "imported_at": now,
        "updated_at": now,
        "invited_at": now,
        "invitation_sent_at": now,
        "responded_at": now,
    }


def count_where(condition: sa.ColumnElement[bool]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Alumnus).where(condition))


def check(name: str, condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"{name}: {what}")


@dataclass
class Step:
    """What one step cost: wall time, statements, CPU of this process and of PostgreSQL."""

    name: str
    step: str
    people: int
    started: float = 0.0
    cpu: float = 0.0
    postgres: float = 0.0
    statements: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.people / self.seconds

    def count(self, *args: object) -> None:
        self.statements += 1

    def __enter__(self) -> Step:
        sa.event.listen(db.engine, "before_cursor_execute", self.count)
        self.cpu, self.postgres = time.process_time(), postgres_seconds()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        seconds = self.seconds = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu
        postgres = postgres_seconds() - self.postgres
        sa.event.remove(db.engine, "before_cursor_execute", self.count)
        if exc[0] is not None:
            return
        n = self.people
        # PostgreSQL's processes serve whoever else uses the server too: only for its runs.
        server = f" + {postgres / n * 1000:5.2f} ms PostgreSQL" if self.name == "postgresql" else ""
        print(
            f"{self.name:<10} {self.step:<9} {n:>7,} people {seconds:8.2f} s {n / seconds:>7,.0f}"
            f" /s | per person: {self.statements / n:5.1f} statements, CPU {cpu / n * 1000:5.2f}"
            f" ms here{server} | load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def bench_database(name: str, people: int, threads: int) -> float:
    """Runs the three steps; returns the erasures per second."""
    with tempfile.TemporaryDirectory(prefix="alumni-bench-erase-") as tmp:
        folder = Path(tmp)
        url = DATABASES[name](folder, "live")
        with erasure_app(url, folder, threads) as app:
            populate(people)
            runtime = app.extensions["dramatiq"]
            held: list[int] = []
            runtime.enqueue = lambda actor, request_id: held.append(request_id)

            with Step(name, "requests", people):
                for n in range(1, people + 1):
                    erasure.request_erasure(
                        db.session.get(Alumnus, n),
                        reason=SuppressionReason.WITHDRAWN,
                        channel=EvidenceChannel.UNSUBSCRIBE_PAGE,
                        actor="alumnus",
                    )
                    db.session.commit()
                    db.session.expunge_all()
            check(name, len(held) == people, f"{len(held)} jobs held, not {people}")

            actor = runtime.broker.get_actor("erase_alumnus")
            for request_id in held:
                actor.send(request_id)
            with Step(name, "erasures", people) as erasures:
                runtime.in_process.ensure_started()
                check(name, runtime.finish_queued_work(60_000), "erasure jobs left undone")

            path = position.ledger_path()
            check(name, count_where(Alumnus.status == AlumnusStatus.ERASED) == people, "erased")
            check(name, erasure.pending_requests() == 0, "requests left pending")
            check(name, len(path.read_bytes().splitlines()) == people, "ledger lines")
            check(name, position.bytes_behind() == 0, "the database is behind its ledger")
            ledger_copy = folder / "ledger-copy.jsonl"
            ledger_copy.write_bytes(path.read_bytes())

        restored = folder / "restored"
        restored.mkdir()
        with erasure_app(DATABASES[name](restored, "restored"), restored, threads) as app:
            populate(people)  # the backup from before the erasures
            app.config["ERASURE_LEDGER_PATH"] = str(ledger_copy)
            with Step(name, "replay", people):
                report = erasure.replay(0, actor="bench")
            check(name, report.erased_again == people, f"replay erased {report.erased_again}")
            check(name, count_where(Alumnus.email.is_not(None)) == 0, "addresses left")
            check(name, ledger.size(ledger_copy) == position.applied_through(), "not caught up")
    return erasures.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--threads", type=int, default=4, help="in-process worker threads")
    parser.add_argument(
        "--group",
        type=int,
        default=operation.GROUP,
        help="erasures in one transaction at most (1: each alone, as before groups)",
    )
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    operation.GROUP = args.group
    rates = {name: bench_database(name, args.people, args.threads) for name in names}
    listed = ", ".join(f"{name} {rate:,.0f}/s" for name, rate in rates.items())
    print(f"goal: erasures >= {GOAL}/s: {listed}")
    return 0 if min(rates.values()) >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
