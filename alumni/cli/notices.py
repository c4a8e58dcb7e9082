"""``notice`` commands: publish a version of the privacy notice for alumni, list the versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup
from flask_babel import format_datetime
from flask_babel import gettext as _

from alumni.consent import notices
from alumni.extensions import db

notice_group = AppGroup("notice", help="The privacy notice for alumni, version by version.")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(_("%(file)s is not UTF-8 text.", file=path))
    except OSError as error:
        fail(_("%(file)s cannot be read: %(reason)s", file=path, reason=error.strerror))


def fail(message: object) -> NoReturn:
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(1)


@notice_group.command("publish")
@click.option("--version", "version", required=True, help="The new version, e.g. 2027-01.")
@click.option("--nl", "nl_file", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--en", "en_file", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--material",
    is_flag=True,
    help="The change is material (it changes what people consented to); kept with the version.",
)
def publish_command(version: str, nl_file: Path, en_file: Path, material: bool) -> None:
    """Publish a version (Markdown, Dutch and English); it is in force at once and never
    changes."""
    text_nl, text_en = read_text(nl_file), read_text(en_file)
    try:
        notice = notices.publish(
            version, text_nl=text_nl, text_en=text_en, material=material, actor="cli"
        )
    except notices.NoticeError as refusal:
        fail(refusal.message)
    db.session.commit()
    click.echo(
        _(
            "Version %(version)s is published and in force. SHA-256: %(nl)s (Dutch), "
            "%(en)s (English).",
            version=notice.version,
            nl=notice.sha256_nl,
            en=notice.sha256_en,
        )
    )


@notice_group.command("list")
def list_command() -> None:
    """Every version, newest first: when it was published, whether it was material."""
    for notice in notices.every_version():
        click.echo(
            _(
                "%(version)s published %(when)s%(material)s%(recorded)s",
                version=notice.version,
                when=format_datetime(notice.published_at, "yyyy-MM-dd HH:mm"),
                material=_(", material") if notice.material else "",
                recorded="" if notice.recorded else _(", text not recorded"),
            )
        )
