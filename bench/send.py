"""Benchmark of campaign sending: the whole pipeline against raw smtplib, to one SMTP sink.

For each size N: a fresh PostgreSQL database holds N alumni who consent to ``events`` (plain
SQL, fictional values at example domains); a campaign to all of them is created and scheduled;
real ``dramatiq worker.tasks`` processes (``--processes`` x ``--threads``, by default 2 x 4 as
the README's production worker, one SMTP connection per thread) send it while this process
plays the scheduler (``tick()`` once a second). The time runs from the first tick until the
campaign is ``sent``. In the same run, raw smtplib sends N
pre-built messages of the same shape to the same sink over the same number of connections
(one thread each). The sink (aiosmtpd in a process of its own) only counts; it must receive
exactly N messages to N distinct addresses from the pipeline. Goals: pipeline rate / smtplib
rate >= 0.5, and the worker's peak RSS flat from 10,000 to 100,000 recipients. The baseline runs
just before the pipeline and again just after it; the ratio is taken against the mean of its two
rates, so that a machine whose speed drifts during a run (a shared virtual machine) favours
neither side.

    .venv/bin/python bench/send.py --sizes 10000,100000

PostgreSQL: the database ``alumni_bench_send`` is dropped and created on BENCH_POSTGRES_URL
(default ``postgresql://postgres@127.0.0.1:5432``); Redis: BENCH_REDIS_URL (default
``redis://127.0.0.1:6379/14``), keys under a namespace of this run, removed at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import REDIS_URL, drop_database, fresh_database, processes, stop  # noqa: E402

from alumni import create_app  # noqa: E402
from alumni.extensions import db  # noqa: E402

POSTGRES_DB = "alumni_bench_send"
GOAL_RATIO = 0.5
SENDER, FIRST_RECIPIENT = "alumni@bench.example", "first@example.com"  # the baseline's envelope
KEYS = {
    "SECRET_KEY": "bench-secret-key-" + "x" * 32,
    "SUPPRESSION_KEY": "bench-suppression-key-" + "y" * 32,
    "PSEUDONYM_KEY": "bench-pseudonym-key-" + "z" * 32,
}
SUBJECT = "Reünie van alle lichtingen op 12 juni"
BODY = """Beste oud-student,

Op **vrijdag 12 juni** houden we een reünie voor alle lichtingen, van 16.00 tot 21.00 uur in
de aula. Er is een rondleiding langs de nieuwe praktijklokalen, een korte terugblik door
oud-docenten en daarna een buffet.

- 16.00 uur: ontvangst met koffie en thee
- 17.00 uur: rondleidingen per opleiding
- 18.30 uur: buffet en muziek

Aanmelden kan tot 1 juni via [de aanmeldpagina](https://alumni.example/reunie). Neem gerust
iemand mee die ook bij ons heeft gestudeerd.

Tot dan!
"""


# -- the SMTP sink: a process of its own that only counts ----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sink_main(port: int, control: Connection) -> None:
    """aiosmtpd on loopback; answers ``stats`` with (messages, distinct recipients) since the
    last ``reset``. The handler does not parse the message."""
    from aiosmtpd.controller import Controller

    class Counter:
        def __init__(self) -> None:
            self.messages = 0
            self.recipients: set[str] = set()

        async def handle_DATA(self, server, session, envelope) -> str:
            self.messages += 1
            self.recipients.update(envelope.rcpt_tos)
            return "250 OK"

    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    try:
        while True:
            command = control.recv()
            if command == "stats":
                control.send((handler.messages, len(handler.recipients)))
            elif command == "reset":
                handler.messages, handler.recipients = 0, set()
                control.send("ok")
            else:
                break
    finally:
        controller.stop()


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self._control, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=_sink_main, args=(self.port, child), daemon=True
        )
        self.process.start()
        if not self._control.poll(30) or self._control.recv() != "ready":
            sys.exit("the SMTP sink did not start")

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self._control.send("reset")
        self._control.recv()

    def stats(self) -> tuple[int, int]:
        self._control.send("stats")
        return self._control.recv()

    def stop(self) -> None:
        self._control.send("stop")
        self.process.join(10)


# -- the database --------------------------------------------------------------------------------


FILL_ALUMNI = """
INSERT INTO alumni (
    subject_id, student_key, status, locale, link_version,
    first_name, last_name, preferred_name, programme, phone, email, gender, date_of_birth,
    graduation_year, imported_at, updated_at, invited_at, invitation_sent_at, responded_at
)
SELECT
    substr(md5('subject-' || i), 1, 22), NULL, 'responded', 'nl', 1,
    (ARRAY['Anouk','Bram','Chantal','Daan','Eline','Femke','Gijs'])[i % 7 + 1],
    (ARRAY['de Vries','Jansen','van den Berg','Bakker','Visser','Smit','Meijer'])[i % 7 + 1],
    CASE WHEN i % 10 = 0 THEN 'Noor' END,
    (ARRAY['Software Developer','Verpleegkunde','Mediavormgeving','Bouwkunde'])[i % 4 + 1],
    '+3161' || lpad((i % 10000000)::text, 7, '0'),
    'alumnus.' || i || '@' || (ARRAY['example.com','example.org','example.net'])[i % 3 + 1],
    (ARRAY['female','male','nonbinary','unknown'])[i % 4 + 1],
    date '1970-01-01' + (i % 12000),
    2000 + i % 25,
    now(), now(), now(), now(), now()
FROM generate_series(1, %(n)s) AS i
"""
FILL_CONSENTS = """
INSERT INTO consents (alumnus_id, purpose, state, changed_at, notice_version)
SELECT id, 'events', 'granted', now() - interval '30 days', '2026-11' FROM alumni
"""


def fill(url: str, n: int) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        connection.execute(FILL_ALUMNI.replace("%(n)s", str(int(n))))
        connection.execute(FILL_CONSENTS)
        connection.commit()
        connection.autocommit = True
        connection.execute("ANALYZE")
    return time.perf_counter() - started


# -- the worker's memory -------------------------------------------------------------------------


def group_pids(pgid: int) -> list[int]:
    return sorted(pid for pid, _, fields in processes() if int(fields[2]) == pgid)


def status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Memory:
    """VmRSS sampled once a second per process of the group; VmHWM read at the end."""

    pgid: int
    sampled: dict[int, int] = field(default_factory=dict)
    high_water: dict[int, int] = field(default_factory=dict)

    def sample(self) -> None:
        for pid in group_pids(self.pgid):
            rss = status_kb(pid, "VmRSS")
            if rss is not None:
                self.sampled[pid] = max(self.sampled.get(pid, 0), rss)

    def read_high_water(self) -> None:
        for pid in group_pids(self.pgid):
            hwm = status_kb(pid, "VmHWM")
            if hwm is not None:
                self.high_water[pid] = hwm


# -- the pipeline --------------------------------------------------------------------------------


@dataclass
class PipelineRun:
    seconds: float
    received: int
    distinct: int
    deliveries: dict[str, int]
    memory: Memory
    fill_seconds: float
    message_bytes: int

    @property
    def rate(self) -> float:
        return self.received / self.seconds


def app_config(url: str, namespace: str, sink: Sink, batch_size: int, folder: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "DRAMATIQ_NAMESPACE": namespace,
        "SMTP_URL": sink.url,
        "BASE_URL": "https://alumni.example",
        "SEND_BATCH_SIZE": batch_size,
        "DEV_OUTBOX": False,
        "OUTBOX_PATH": str(folder / "outbox"),
        "ERASURE_LEDGER_PATH": str(folder / "erasure-ledger.jsonl"),
        **KEYS,
    }


def worker_environment(url: str, namespace: str, sink: Sink, batch_size: int) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "DRAMATIQ_NAMESPACE": namespace,
        "SMTP_URL": sink.url,
        "BASE_URL": "https://alumni.example",
        "SEND_BATCH_SIZE": str(batch_size),
        **KEYS,
    }


def start_worker(env: dict, log: Path, processes: int, threads: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "dramatiq", "worker.tasks",
        "--processes", str(processes), "--threads", str(threads),
    ]  # fmt: skip
    with log.open("ab") as handle:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def wait_until_ready(worker: subprocess.Popen, log: Path, processes: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            sys.exit(f"the worker exited with {worker.returncode}; see {log}")
        if log.read_text(errors="replace").count("is ready for action") >= processes:
            return
        time.sleep(0.2)
    sys.exit(f"the worker did not get ready in 120 s; see {log}")


def clear_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)


def sample_message(campaign_id: int) -> bytes:
    """The first recipient's email as the pipeline builds it, as bytes."""
    from flask import current_app

    from alumni.campaigns.content import Personaliser, render_body
    from alumni.mail.message import build_message
    from alumni.models import Alumnus, Campaign, Consent

    campaign = db.session.get(Campaign, campaign_id)
    alumnus = db.session.scalar(sa.select(Alumnus).order_by(Alumnus.id).limit(1))
    consent = db.session.get(Consent, (alumnus.id, campaign.purpose))
    personaliser = Personaliser(campaign, render_body(campaign.body))
    email = personaliser.email(personaliser.recipient(alumnus, consent.changed_at))
    message = build_message(email, sender=current_app.config["MAIL_FROM"])
    return message.as_bytes()


def run_pipeline(
    n: int,
    sink: Sink,
    processes: int,
    threads: int,
    batch_size: int,
    folder: Path,
    before: Callable[[bytes], None],
) -> tuple[PipelineRun, bytes]:
    """``before`` runs with the sample message once the database is ready, before the workers
    start: the baseline's first run."""
    from alumni.campaigns import sending
    from alumni.campaigns.service import create_campaign, schedule
    from alumni.models import Campaign, CampaignStatus, Delivery
    from alumni.models.purpose import Purpose

    url = fresh_database(POSTGRES_DB)
    namespace = f"alumni_bench_send_{os.getpid()}_{n}"
    app = create_app(app_config(url, namespace, sink, batch_size, folder), str(folder))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        fill_seconds = fill(url, n)
        print(f"  {n:,} alumni consenting to events, filled in {fill_seconds:.1f} s", flush=True)
        campaign = create_campaign(purpose=Purpose.EVENTS, subject=SUBJECT, body=BODY)
        schedule(campaign)
        db.session.commit()
        campaign_id = campaign.id
        message = sample_message(campaign_id)
        db.session.rollback()
        before(message)

        log = folder / f"worker-{n}.log"
        worker = start_worker(
            worker_environment(url, namespace, sink, batch_size), log, processes, threads
        )
        memory = Memory(worker.pid)
        try:
            wait_until_ready(worker, log, processes)
            sink.reset()
            status = None
            started = time.perf_counter()
            next_tick = started
            last_report = started
            while True:
                now = time.perf_counter()
                if now >= next_tick:
                    sending.tick()
                    memory.sample()
                    next_tick += 1.0
                db.session.rollback()
                status = db.session.scalar(
                    sa.select(Campaign.status).where(Campaign.id == campaign_id)
                )
                db.session.rollback()
                if status is CampaignStatus.SENT:
                    seconds = time.perf_counter() - started
                    break
                if worker.poll() is not None:
                    sys.exit(f"the worker exited with {worker.returncode}; see {log}")
                if now - last_report >= 10:
                    last_report = now
                    received, _ = sink.stats()
                    print(f"    {now - started:6.0f} s: {received:,} received", flush=True)
                time.sleep(0.05)
            memory.sample()
            memory.read_high_water()
        finally:
            stop(worker, timeout=60)
        received, distinct = sink.stats()
        deliveries = {
            getattr(status, "value", str(status)): number
            for status, number in db.session.execute(
                sa.select(Delivery.status, sa.func.count())
                .where(Delivery.campaign_id == campaign_id)
                .group_by(Delivery.status)
            )
        }
        db.session.rollback()
        app.extensions["dramatiq"].stop()
        app.extensions["mail"].close_all()
        db.session.remove()
        db.engine.dispose()
    clear_namespace(namespace)
    run = PipelineRun(seconds, received, distinct, deliveries, memory, fill_seconds, len(message))
    return run, message


# -- raw smtplib ---------------------------------------------------------------------------------


def run_smtplib(n: int, sink: Sink, connections: int, message_bytes: bytes) -> tuple[float, int]:
    """N messages over ``connections`` smtplib connections, one thread each: the first
    recipient's message, built once, handed over with ``sendmail`` as the app's backend does."""
    shares = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]
    barrier = threading.Barrier(connections + 1)
    errors: list[BaseException] = []

    def send(count: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as connection:
                barrier.wait()
                for _ in range(count):
                    connection.sendmail(
                        "alumni@bench.example", ["first@example.com"], message_bytes
                    )
        except BaseException as error:  # report it after the run
            errors.append(error)
            barrier.abort()

    sink.reset()
    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    received, _ = sink.stats()
    return seconds, received


def run_baseline(
    into: list[tuple[float, int]], when: str, n: int, sink: Sink, connections: int, message: bytes
) -> None:
    seconds, received = run_smtplib(n, sink, connections, message)
    into.append((seconds, received))
    print(
        f"  smtplib {when}: {seconds:.2f} s, {received / seconds:,.0f} msg/s "
        f"(load average {load_average()})",
        flush=True,
    )


# -- the report ----------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. 10000,100000")
    # As the README's production worker: ``flask --app wsgi worker --processes 2 --threads 4``.
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500, help="SEND_BATCH_SIZE")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.recipients]
    connections = args.processes * args.threads

    sink = Sink()
    print(
        f"sink on {sink.url}; worker {args.processes} process(es) x {args.threads} threads "
        f"= {connections} SMTP connections; batches of {args.batch_size}",
        flush=True,
    )
    results = []
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="alumni-bench-send-") as tmp:
            for n in sizes:
                print(f"{n:,} recipients (load average {load_average()})", flush=True)
                baseline: list[tuple[float, int]] = []
                before = partial(run_baseline, baseline, "before", n, sink, connections)
                pipeline, message = run_pipeline(
                    n, sink, args.processes, args.threads, args.batch_size, Path(tmp), before
                )
                print(
                    f"  pipeline: {pipeline.seconds:.2f} s, {pipeline.rate:,.0f} msg/s "
                    f"(load average {load_average()}); worker peak RSS per process (kB) "
                    f"VmHWM {pipeline.memory.high_water}, sampled VmRSS {pipeline.memory.sampled}",
                    flush=True,
                )
                run_baseline(baseline, "after", n, sink, connections, message)
                rates = [received / seconds for seconds, received in baseline]
                exact = (
                    pipeline.received == n
                    and pipeline.distinct == n
                    and pipeline.deliveries == {"sent": n}
                    and all(received == n for _, received in baseline)
                )
                if not exact:
                    print(
                        f"  MISMATCH: sink got {pipeline.received:,} messages to "
                        f"{pipeline.distinct:,} addresses from the pipeline, deliveries "
                        f"{pipeline.deliveries}; {[r for _, r in baseline]} from smtplib",
                        flush=True,
                    )
                    ok = False
                results.append((n, pipeline, rates, exact))
    finally:
        sink.stop()
        if not args.keep_database:
            drop_database(POSTGRES_DB)

    print()
    print(
        f"{'recipients':>10}  {'pipeline':>18}  {'smtplib before / after':>22}  {'ratio':>6}  "
        f"{'worker peak RSS (VmHWM / sampled VmRSS), MB':<46} exact"
    )
    for n, pipeline, rates, exact in results:
        ratio = pipeline.rate / (sum(rates) / len(rates))
        ok = ok and ratio >= GOAL_RATIO
        memory = pipeline.memory
        rss = ", ".join(
            f"{pid}: {memory.high_water.get(pid, 0) / 1024:.0f}/"
            f"{memory.sampled.get(pid, 0) / 1024:.0f}"
            for pid in sorted(set(memory.high_water) | set(memory.sampled))
        )
        baseline = " / ".join(f"{rate:,.0f}" for rate in rates)
        print(
            f"{n:>10,}  {pipeline.seconds:7.1f} s {pipeline.rate:>6,.0f}/s  "
            f"{baseline + '/s':>22}  {ratio:6.2f}  {rss:<46} {'yes' if exact else 'NO'}"
        )
    print(f"message size {results[0][1].message_bytes:,} bytes; goal: ratio >= {GOAL_RATIO}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
