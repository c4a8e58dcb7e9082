"""``register``: print the record of processing activities (Art. 30 GDPR) as the running
configuration makes it."""

from __future__ import annotations

import click
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from alumni.people import register


@click.command("register")
@click.option(
    "--language",
    type=click.Choice(["nl", "en"]),
    default=None,
    help="The language of the record (default: the service's default language).",
)
def register_command(language: str | None) -> None:
    """Print the record of processing activities (Art. 30 GDPR), made from the configuration."""
    with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _(
            "Record of processing activities (Art. 30 GDPR): alumni service of %(organisation)s",
            organisation=current_app.config["ORGANISATION_NAME"],
        )
        click.echo(register.as_text(register.build(current_app.config), title=title))
