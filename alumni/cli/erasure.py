"""``erasure`` and ``retention`` commands (``flask --app wsgi erasure replay`` ...)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from alumni.erasure.replay import replay
from alumni.people import retention

erasure_group = AppGroup("erasure", help="The erasure ledger kept outside the database.")
retention_group = AppGroup("retention", help="Retention periods.")


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


@retention_group.command("run")
def retention_run_command() -> None:
    """Enforce retention now (the scheduler also does it every hour)."""
    report = retention.run(actor="cli")
    click.echo(
        _(
            "Invitees erased after %(days)d days without an answer: %(invitees)d. "
            "Alumni erased without consent left: %(without)d. "
            "Deliveries counted into totals and deleted: %(deliveries)d. "
            "Audit entries deleted: %(audit)d.",
            days=current_app.config["INVITE_TTL_DAYS"],
            invitees=report.invitees_erased,
            without=report.without_consent_erased,
            deliveries=report.deliveries_aggregated,
            audit=report.audit_entries_deleted,
        )
    )
