"""The sending worker's own CPU per email, on one thread: a figure a busy machine cannot blur.

``bench/send.py`` measures rates, which on a shared virtual machine drift by 10-20 % within
minutes. This script sends one campaign to N alumni (PostgreSQL, filled as ``bench/send.py``
does) with the production code, ``sending.send_batch`` batch after batch, on one thread of this
process, to the same aiosmtpd sink in a process of its own; it reports this process's CPU time
per email (user and system) and that of PostgreSQL's processes. Under callgrind it counts the
instructions of the sending alone, which are the same from one run to the next (the kernel's
share is not counted):

    .venv/bin/python bench/send_cpu.py 3000
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p.out \\
        .venv/bin/python bench/send_cpu.py 700 --callgrind

The second prints the emails sent; callgrind's "I refs" of the largest file over that number is
the instructions per email. No Redis: the queue is the in-process one, and it is not started.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from common import drop_database, fresh_database, postgres_seconds
from send import (
    BODY,
    SUBJECT,
    Sink,
    app_config,
    fill,
)

from alumni import create_app
from alumni.extensions import db

DATABASE = "alumni_bench_send_cpu"


def instrument(on: bool) -> None:
    state = "on" if on else "off"
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipients", type=int, nargs="?", default=3000)
    parser.add_argument("--batch-size", type=int, default=100, help="SEND_BATCH_SIZE")
    parser.add_argument("--callgrind", action="store_true", help="count the sending loop only")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)

    from flask_migrate import upgrade

    from alumni.campaigns import sending
    from alumni.campaigns.service import create_campaign, schedule
    from alumni.models import CampaignBatch, utcnow
    from alumni.models.purpose import Purpose

    sink = Sink()
    url = fresh_database(DATABASE)
    folder = Path(tempfile.mkdtemp(prefix="alumni-bench-send-cpu-"))
    config = app_config(url, "unused", sink, args.batch_size, folder)
    config.update(REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://")
    app = create_app(config, str(folder))
    try:
        with app.app_context():
            upgrade()
            fill(url, args.recipients)
            campaign = create_campaign(purpose=Purpose.EVENTS, subject=SUBJECT, body=BODY)
            schedule(campaign)
            db.session.commit()
            # The batches are queued, but the in-process worker is kept from starting: this
            # thread sends them, one after the other.
            app.extensions["dramatiq"].in_process.ensure_started = lambda: None
            sending.start_due_campaigns(utcnow())
            while not db.session.get(type(campaign), campaign.id).dispatched_at:
                sending.dispatch(campaign.id)
            batches = list(db.session.scalars(sa.select(CampaignBatch.id).order_by("id")))
            db.session.commit()
            sending.send_batch(batches[0])  # warm: connections, caches, the layouts
            sink.reset()
            if args.callgrind:
                instrument(True)
            before, postgres = resource.getrusage(resource.RUSAGE_SELF), postgres_seconds()
            started = time.perf_counter()
            for batch in batches[1:]:
                sending.send_batch(batch)
            seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_SELF)
            postgres = postgres_seconds() - postgres
            if args.callgrind:
                instrument(False)
            sent, distinct = sink.stats()
            app.extensions["mail"].close_all()
            db.session.remove()
            db.engine.dispose()
    finally:
        sink.stop()
        drop_database(DATABASE)
    if not sent or distinct != sent:
        sys.exit(f"the sink got {sent} messages to {distinct} addresses")
    per_email = 1e6 / sent
    user = (after.ru_utime - before.ru_utime) * per_email
    system = (after.ru_stime - before.ru_stime) * per_email
    print(
        f"emails {sent}; this process {user:.0f} us user + {system:.0f} us system per email; "
        f"PostgreSQL {postgres * per_email:.0f} us; wall {seconds * per_email:.0f} us"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
