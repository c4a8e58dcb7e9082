"""The scheduler: one round (``tick``) every ``TICK_SECONDS``.

In production it is a process of its own (``flask --app wsgi scheduler``); more than one may
run, because every step is idempotent and locks what it changes. In embedded mode the web
process runs it on a thread, started with the first request.

The first round runs at once when the scheduler starts: after a backup restore, the erasure
ledger is replayed before anything else happens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)


def steps() -> list[Callable[[], object]]:
    """In order: erasures the database lacks (a restore), consent receipts that are due (the
    last ones before the erasures they precede), erasure requests whose job was lost, retention
    when due, campaigns, and the opens counted in Redis into the database."""
    from alumni import erasure
    from alumni.campaigns import sending
    from alumni.consent import receipts
    from alumni.opens import flush_opens
    from alumni.people import retention

    # Counting opens comes last and on its own: it must never hold up sending.
    return [
        erasure.catch_up,
        receipts.send_due,
        erasure.sweep,
        retention.run_if_due,
        sending.tick,
        flush_opens,
    ]


def tick() -> None:
    """One round; a step that fails does not stop the others, the next round repairs it."""
    from alumni.extensions import db

    for step in steps():
        try:
            step()
        except Exception as error:  # keep ticking: the next tick repairs what this missed
            db.session.rollback()
            log.error("tick: %s failed: %s", step.__name__, type(error).__name__)


def run(app: Flask, stop: threading.Event) -> None:
    interval = app.config["TICK_SECONDS"]
    while not stop.is_set():
        with app.app_context():
            tick()
        stop.wait(interval)


def start_in_background(app: Flask) -> threading.Event:
    """The embedded scheduler: a daemon thread of this process."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), name="scheduler", daemon=True)
    thread.start()
    return stop
