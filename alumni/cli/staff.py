"""``staff`` commands: accounts and API tokens (``flask --app wsgi staff ...``)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import NoReturn

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import gettext as _

from alumni.accounts import api_tokens as tokens
from alumni.accounts import lifecycle, second_factor
from alumni.accounts import staff as accounts
from alumni.extensions import db
from alumni.models import ApiToken, Role, StaffUser

staff_group = AppGroup("staff", help="Staff accounts and their API tokens.")
ROLES = click.Choice([role.value for role in Role])


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
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
@click.option(
    "--days",
    type=int,
    default=None,
    help="How long it works (default 90, at most API_TOKEN_MAX_DAYS).",
)
def token_command(email: str, name: str, days: int | None) -> None:
    """Make an API token with this staff member's role; it is printed alone on the last line."""
    staff = staff_by_email(email)
    if not staff.active:
        fail(_("This account is switched off: no token made."))
    try:
        token, raw = tokens.create_token(staff, name=name, days=days)
    except tokens.TokenError as refusal:
        db.session.rollback()
        fail(refusal)
    db.session.commit()
    click.echo(
        _(
            'API token %(id)d "%(name)s" for %(email)s (%(role)s), valid until %(expires)s. '
            "It is shown only this once; revoke it with: staff revoke-token %(id)d",
            id=token.id,
            name=token.name,
            email=staff.email,
            role=staff.role.value,
            expires=when(token.expires_at),
        )
    )
    click.echo(raw)


@staff_group.command("tokens")
@click.option("--of", "email", metavar="EMAIL", help="Only the tokens of this account.")
def tokens_command(email: str | None) -> None:
    """List the API tokens that are not revoked: id, owner, name, expiry and last use."""
    owner = staff_by_email(email) if email is not None else None
    for token in tokens.tokens_to_show(owner):
        state = _("expired") if tokens.is_expired(token) else _("valid")
        click.echo(
            _(
                '%(id)d %(email)s "%(name)s" %(state)s until %(expires)s, last used %(used)s',
                id=token.id,
                email=token.staff.email,
                name=token.name,
                state=state,
                expires=when(token.expires_at),
                used=when(token.last_used_at),
            )
        )


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


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


def change(staff: StaffUser, step: object, done: str, unchanged: str) -> None:
    """Run one lifecycle step (a callable) and commit, or report its refusal."""
    try:
        changed = step()  # type: ignore[operator]
    except accounts.AccountError as refusal:
        db.session.rollback()
        fail(refusal)
    db.session.commit()
    click.echo(done if changed else unchanged)


@staff_group.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=ROLES)
def invite_command(email: str, role: str) -> None:
    """Invite a colleague: a link to set a password (24 hours, once), or with single sign-on
    the way to the school's login, goes to them by email."""
    try:
        staff = lifecycle.invite_staff(email, role, actor="cli")
    except accounts.AccountError as refusal:
        db.session.rollback()
        fail(refusal)
    db.session.commit()
    click.echo(_("Invitation %(id)d queued for %(email)s.", id=staff.id, email=staff.email))


@staff_group.command("role")
@click.argument("email")
@click.argument("role", type=ROLES)
def role_command(email: str, role: str) -> None:
    """Give a staff member another role; their sessions end."""
    staff = staff_by_email(email)
    change(
        staff,
        lambda: lifecycle.change_role(staff, role, actor="cli"),
        _("Role changed to %(role)s; the account's sessions have ended.", role=role),
        _("The account has this role already."),
    )


@staff_group.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Switch an account off: its sessions and API tokens stop at once."""
    staff = staff_by_email(email)
    change(
        staff,
        lambda: lifecycle.deactivate(staff, actor="cli"),
        _("The account is switched off: its sessions and API tokens have stopped."),
        _("The account is switched off already."),
    )


@staff_group.command("reactivate")
@click.argument("email")
def reactivate_command(email: str) -> None:
    """Switch an account on again (its old API tokens stay revoked)."""
    staff = staff_by_email(email)
    change(
        staff,
        lambda: lifecycle.reactivate(staff, actor="cli"),
        _("The account is switched on again."),
        _("The account is switched on already."),
    )


@staff_group.command("list")
def list_command() -> None:
    """List the staff accounts with their role, state, last login, second factors and active
    API tokens."""
    for staff in db.session.scalars(sa.select(StaffUser).order_by(StaffUser.id)):
        token_ids = ", ".join(str(token.id) for token in tokens.active_tokens(staff)) or "-"
        last_login = when(staff.last_login_at)
        click.echo(
            _(
                "%(id)d %(email)s role=%(role)s active=%(active)s last login=%(last_login)s "
                "second factor=%(second_factor)s tokens=%(tokens)s",
                id=staff.id,
                email=staff.email,
                role=staff.role.value,
                active=_("invited")
                if staff.active and staff.invited_at
                else (_("yes") if staff.active else _("no")),
                last_login=last_login,
                second_factor=second_factor.summary(staff),
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
