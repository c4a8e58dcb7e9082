"""The scheduler: runs the campaign tick every ``TICK_SECONDS``, and moves the opens counted
in Redis into the database.

In production it is a process of its own (``flask --app wsgi scheduler``); more than one may
run, because the tick is idempotent and locks what it changes. In embedded mode the web
process runs it on a thread, started with the first request.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def run(app: Flask, stop: threading.Event) -> None:
    from alumni.campaigns.sending import tick
    from alumni.extensions import db
    from alumni.opens import flush_opens

    interval = app.config["TICK_SECONDS"]
    while not stop.is_set():
        with app.app_context():
            # Each step on its own: counting opens must never hold up sending, nor the reverse.
            for step, name in ((tick, "tick"), (flush_opens, "flushing opens")):
                try:
                    step()
                except Exception as error:  # keep ticking: the next tick repairs what this missed
                    db.session.rollback()
                    log.error("%s failed: %s", name, type(error).__name__)
        stop.wait(interval)


def start_in_background(app: Flask) -> threading.Event:
    """The embedded scheduler: a daemon thread of this process."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), name="scheduler", daemon=True)
    thread.start()
    return stop
