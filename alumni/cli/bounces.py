"""``bounces ingest``: one message on standard input, as an MTA's pipe alias hands it over
(``bounces: "|alumni bounces ingest"``).

Exit 0 when the message was handled or deliberately ignored (an auto-reply, a report about
nobody we know, a foreign tag), 75 (EX_TEMPFAIL) when it could not be stored: the MTA keeps
the message and tries again later, so nothing is lost.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from alumni.bounces import processing
from alumni.extensions import db

log = logging.getLogger(__name__)
EX_TEMPFAIL = 75  # sysexits.h: the MTA retries

bounces_group = AppGroup("bounces", help="Bounces and complaints that came back by mail.")


@bounces_group.command("ingest")
@click.option(
    "--recipient",
    envvar=["ORIGINAL_RECIPIENT", "RECIPIENT"],
    default=None,
    help="The address the message was delivered to (Postfix's pipe sets ORIGINAL_RECIPIENT).",
)
@click.argument("message", type=click.File("rb"), default="-")
def ingest_command(recipient: str | None, message: BinaryIO) -> None:
    """Read one message (RFC 5322) on standard input, or from MESSAGE: a bounce, a complaint
    or an auto-reply."""
    raw = message.read()
    try:
        outcomes = processing.ingest(raw, source="pipe", envelope_recipient=recipient)
        db.session.commit()
    except Exception as error:  # whatever it was, the MTA must keep the message
        db.session.rollback()
        log.error("bounce not stored, the MTA will retry: %s", type(error).__name__)
        click.echo(_("Could not store the report; the mail server will try again."), err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    if not outcomes:
        click.echo(_("Ignored: neither a bounce, nor a complaint, nor an auto-reply."))
    for outcome in outcomes:
        words = [outcome.action.value, outcome.ignored.value if outcome.ignored else None]
        found = outcome.found_by.value if outcome.found_by else None
        click.echo(" ".join(word for word in (*words, found and f"({found})") if word))
