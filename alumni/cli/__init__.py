"""Command line: ``flask --app wsgi COMMAND`` or the ``alumni`` console script. Every group
of commands is a module here: graduates (import, invite, demo), staff, erasure, retention,
workers (worker, scheduler), bounces (ingest). A command is an adapter: it calls the domain
and commits."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def init_app(app: Flask) -> None:
    from alumni.cli.bounces import bounces_group
    from alumni.cli.erasure import erasure_group
    from alumni.cli.graduates import demo_command, import_command, invite_command
    from alumni.cli.retention import retention_group
    from alumni.cli.staff import staff_group
    from alumni.cli.workers import scheduler_command, worker_command

    commands = (
        import_command,
        invite_command,
        demo_command,
        worker_command,
        scheduler_command,
        staff_group,
        erasure_group,
        retention_group,
        bounces_group,
    )
    for command in commands:
        app.cli.add_command(command)


def main() -> None:
    """The ``alumni`` console script: the same commands as ``flask --app wsgi``."""
    from alumni import create_app

    FlaskGroup(create_app=create_app)()
