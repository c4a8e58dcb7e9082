"""``staff`` commands: accounts and API tokens (``flask --app wsgi staff ...``)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import gettext as _

from alumni.accounts import api_tokens as tokens
from alumni.accounts import second_factor
from alumni.accounts import staff as accounts
from alumni.extensions import db
from alumni.models import ApiToken, Role, StaffUser

staff_group = AppGroup("staff", help="Staff accounts and their API tokens.")


def fail(message: object) -> NoReturn:
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(1)


def staff_by_email(email: str) -> StaffUser:
    staff = accounts.find_staff(email)
    if staff is None:
        fail(_("No staff account has this email address."))
    return staff


@staff_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked twice)."""
    if accounts.find_staff(email) is not None:  # before asking for a password in vain
        fail(_("A staff account with this email address exists already."))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    try:
        staff = accounts.create_staff(email, role, password)
    except accounts.AccountError as refusal:
        db.session.rollback()
        fail(refusal)
    db.session.commit()
    click.echo(
        _(
            "Staff account %(id)d created for %(email)s with the role %(role)s.",
            id=staff.id,
            email=staff.email,
            role=staff.role.value,
        )
    )


@staff_group.command("token")
@click.argument("email")
def token_command(email: str) -> None:
    """Make an API token with this staff member's role; it is printed alone on the last line."""
    staff = staff_by_email(email)
    if not staff.active:
        fail(_("This account is switched off: no token made."))
    token, raw = tokens.create_token(staff)
    db.session.commit()
    click.echo(
        _(
            "API token %(id)d for %(email)s (%(role)s). It is shown only this once; "
            "revoke it with: staff revoke-token %(id)d",
            id=token.id,
            email=staff.email,
            role=staff.role.value,
        )
    )
    click.echo(raw)


@staff_group.command("revoke-token")
@click.argument("token_id", type=int, required=False)
@click.option("--all-of", "email", metavar="EMAIL", help="Revoke every token of this account.")
def revoke_token_command(token_id: int | None, email: str | None) -> None:
    """Revoke one API token by its id, or every token of one staff member with --all-of."""
    if (token_id is None) == (email is None):
        fail(_("Give either a token id or --all-of EMAIL."))
    if email is not None:
        count = tokens.revoke_tokens_of(staff_by_email(email))
        db.session.commit()
        click.echo(_("Tokens revoked: %(count)d.", count=count))
        return
    token = db.session.get(ApiToken, token_id)
    if token is None:
        fail(_("There is no API token with this id."))
    if not tokens.revoke_token(token):
        click.echo(_("This token was revoked already."))
        return
    db.session.commit()
    click.echo(_("Token %(id)d revoked.", id=token_id))


@staff_group.command("list")
def list_command() -> None:
    """List the staff accounts with their role and active API tokens."""
    for staff in db.session.scalars(sa.select(StaffUser).order_by(StaffUser.id)):
        token_ids = ", ".join(str(token.id) for token in tokens.active_tokens(staff)) or "-"
        last_login = (
            staff.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if staff.last_login_at else "-"
        )
        click.echo(
            _(
                "%(id)d %(email)s role=%(role)s active=%(active)s last login=%(last_login)s "
                "tokens=%(tokens)s",
                id=staff.id,
                email=staff.email,
                role=staff.role.value,
                active=_("yes") if staff.active else _("no"),
                last_login=last_login,
                tokens=token_ids,
            )
        )


@staff_group.command("reset-second-factor")
@click.argument("email")
def reset_second_factor_command(email: str) -> None:
    """Forget the second factor of this account (lost phone): sessions end, the person is told
    by email and sets up a new one at the next login."""
    staff = staff_by_email(email)
    second_factor.reset_second_factor(staff, actor="cli")
    db.session.commit()
    click.echo(
        _(
            "The second factor of %(email)s was reset; they set up a new one at their next login.",
            email=staff.email,
        )
    )
