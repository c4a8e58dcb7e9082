"""``erasure replay``: the erasure ledger applied again, e.g. after restoring a backup."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from alumni.erasure.replay import replay

erasure_group = AppGroup("erasure", help="The erasure ledger kept outside the database.")


@erasure_group.command("replay")
def replay_command() -> None:
    """Apply every erasure in the ledger again, e.g. after restoring a backup; idempotent."""
    report = replay(0, actor="cli")
    click.echo(
        _(
            "Ledger entries read: %(entries)d. Suppression hashes restored: %(restored)d. "
            "Erased again: %(erased)d.",
            entries=report.entries,
            restored=report.suppressions_restored,
            erased=report.erased_again,
        )
    )
