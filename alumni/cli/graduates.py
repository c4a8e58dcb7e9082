"""``import``, ``invite`` and ``demo``: graduates into the database, and their invitations out."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _

from alumni.extensions import db
from alumni.people import demo as demo_data
from alumni.people import importer, invitations


def finish_queued_work() -> bool:
    """Embedded mode has no separate worker: finish what this command queued before exiting.

    Returns False when some work was still waiting to be retried (an unreachable mail server).
    """
    grace_ms = int(current_app.config["RETRY_GRACE_SECONDS"] * 1000)
    done = current_app.extensions["dramatiq"].finish_queued_work(grace_ms)
    current_app.extensions["mail"].close_all()
    return done


@click.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="Print only rejected rows and the summary.")
def import_command(csv_file: Path, quiet: bool) -> None:
    """Import graduates from a CSV file (UTF-8, ';' or ',')."""

    def show(row: importer.RowOutcome) -> None:
        if row.outcome == "rejected":
            click.echo(
                _(
                    "line %(line)d: rejected (%(code)s): %(reason)s",
                    line=row.line,
                    code=row.code,
                    reason=row.message,
                )
            )
        elif row.warnings:  # shown with --quiet too: the school's file needs a correction
            for warning in row.warnings:
                click.echo(
                    _(
                        "line %(line)d: %(outcome)s, imported with warning: %(column)s: "
                        "%(reason)s The field was left empty.",
                        line=row.line,
                        outcome=importer.OUTCOME_LABELS[row.outcome],
                        column=warning.column,
                        reason=warning.message,
                    )
                )
        elif not quiet:
            click.echo(
                _(
                    "line %(line)d: %(outcome)s",
                    line=row.line,
                    outcome=importer.OUTCOME_LABELS[row.outcome],
                )
            )

    try:
        report = importer.import_graduates(csv_file.read_bytes(), on_row=show)
    except importer.ImportFileError as error:
        click.echo(_("Nothing imported: %(reason)s", reason=error.message), err=True)
        sys.exit(1)
    counts = report.counts
    click.echo(
        _(
            "Rows read: %(rows)d. Added: %(added)d, updated: %(updated)d, "
            "unchanged: %(unchanged)d, kept as the graduate corrected them: %(kept)d, "
            "rejected: %(rejected)d. Imported with a warning: %(warned)d.",
            rows=report.rows,
            warned=len(report.warned),
            added=counts["added"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            kept=counts["kept"],
            rejected=counts["rejected"],
        )
    )


@click.command("invite")
@click.option("--cohort", type=int, help="Only graduates of this graduation year.")
def invite_command(cohort: int | None) -> None:
    """Queue invitation emails to imported graduates who have not been invited."""
    ids = invitations.invite_graduates(cohort)
    click.echo(_("Invitations queued: %(count)d.", count=len(ids)))
    if current_app.extensions["dramatiq"].in_process is None or not ids:
        return  # the workers send them
    finish_queued_work()
    unsent = invitations.count_unsent(ids)
    click.echo(_("Sent: %(sent)d. Not sent: %(unsent)d.", sent=len(ids) - unsent, unsent=unsent))
    if unsent:
        message = _(
            "The mail server could not take every invitation. Nothing is lost: "
            "run %(command)s again later to send the rest.",
            command="invite",
        )
        click.echo(message, err=True)
        sys.exit(2)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Load nothing when graduates exist already.")
def demo_command(if_empty: bool) -> None:
    """Fill the database with demo graduates, invite them, make a demo officer account, and
    print its login (also when the data was there already)."""
    if if_empty and demo_data.has_graduates():
        click.echo(_("The database has graduates already: no demo data loaded."))
    else:
        count = demo_data.load()
        ids = invitations.invite_graduates(actor="demo")
        finish_queued_work()
        click.echo(
            _(
                "Demo graduates loaded: %(count)d; invited: %(invited)d. "
                "The invitations are in %(url)s",
                count=count,
                invited=len(ids),
                url=current_app.config["BASE_URL"] + "/dev/outbox",
            )
        )
        demo_data.create_officer()
        db.session.commit()
    show_demo_login()


def show_demo_login() -> None:
    """On the terminal only, never in a log: the password is the demo's, for its operator."""
    login = demo_data.saved_login()
    if login is None:
        command = "flask --app wsgi staff create EMAIL --role officer"
        click.echo(
            _("No demo staff login. Make a staff account with: %(command)s", command=command)
        )
        return
    url = current_app.config["BASE_URL"] + "/staff/login"
    click.echo(_("Log in as a demo alumni officer at %(url)s", url=url))
    click.echo(f"  {_('Email address')}: {login.email}")
    click.echo(f"  {_('Password')}: {login.password}")
    click.echo(
        _(
            "This account is for the demo only; its password is kept in %(path)s.",
            path=demo_data.login_file(),
        )
    )
