"""``worker`` and ``scheduler``: the processes that do the work in production."""

from __future__ import annotations

import signal
import sys
import threading

import click
from flask import current_app
from flask_babel import gettext as _


@click.command("worker")
@click.option("--processes", default=2, show_default=True)
@click.option("--threads", default=4, show_default=True)
def worker_command(processes: int, threads: int) -> None:
    """Run the dramatiq worker processes (needs REDIS_URL)."""
    if not current_app.config["REDIS_URL"]:
        click.echo(_("REDIS_URL is not set: the web process does the work itself."), err=True)
        sys.exit(1)
    from dramatiq.cli import main as dramatiq_main

    sys.argv = [
        "dramatiq",
        "worker.tasks",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    sys.exit(dramatiq_main())


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler: start due campaigns, queue again work lost by a crash, and move
    open counts from Redis into the database."""
    from worker import scheduler

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    seconds = current_app.config["TICK_SECONDS"]
    click.echo(_("Scheduler running: a tick every %(seconds)s seconds.", seconds=seconds))
    scheduler.run(current_app._get_current_object(), stop)  # type: ignore[attr-defined]
