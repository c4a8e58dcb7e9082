"""``retention run``: enforce the retention periods now (the scheduler does it every hour)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from alumni.people import retention

retention_group = AppGroup("retention", help="Retention periods.")


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
