"""A staff account's life: invited, its role changed, switched off and on, a forgotten
password set again through a link. Each step is audited (staff ids only), ends every session
of the account where it changes what the account may do, and is told to its owner by email.

The caller (a staff page or a command) commits; jobs leave after the commit.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from alumni import audit
from alumni.accounts import api_tokens, links
from alumni.accounts.notices import StaffNotice, notify
from alumni.accounts.staff import (
    AccountError,
    check_new_password,
    find_staff,
    hash_password,
    rotate_session,
    typed_email_key,
)
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.extensions import db
from alumni.models import Role, StaffUser, utcnow
from alumni.people.validation import InvalidValue, parse_email

LAST_ADMIN = AccountError(
    "last-admin",
    _l("This is the last active administrator: make another administrator first."),
)


def parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            "invalid-role", _l("Unknown role; choose one of %(roles)s.", roles=", ".join(Role))
        ) from None


def invite_staff(email: str, role: Role | str, *, actor: str) -> StaffUser:
    """An account for a colleague, who sets its password through the emailed link (or signs in
    with the school account). Inviting again an account still invited sends a new link."""
    try:
        address = parse_email(email)
    except InvalidValue as invalid:
        raise AccountError(invalid.code, invalid.message) from None
    role = parse_role(role)
    staff = find_staff(address)
    if staff is not None and staff.invited_at is None:
        raise AccountError(
            "duplicate-email", _l("A staff account with this email address exists already.")
        )
    if staff is None:
        # A password nobody knows: the account opens only through the link (or the provider).
        staff = StaffUser(
            email=address, role=role, password_hash=hash_password(secrets.token_urlsafe(32))
        )
        db.session.add(staff)
    staff.role = role
    staff.invited_at = utcnow()
    db.session.flush()
    audit.record("staff.invited", actor=actor, staff_id=staff.id, role=role.value)
    enqueue_after_commit(Job.SEND_STAFF_INVITATION, staff.id)
    return staff


def other_active_admins(staff: StaffUser) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StaffUser)
        .where(
            StaffUser.role == Role.ADMIN,
            StaffUser.active.is_(True),
            StaffUser.id != staff.id,
        )
    )


def _keep_an_admin(staff: StaffUser) -> None:
    """Nobody, not even from the command line, leaves the service without an active admin."""
    if staff.role is Role.ADMIN and staff.active and not other_active_admins(staff):
        raise LAST_ADMIN


def change_role(staff: StaffUser, role: Role | str, *, actor: str) -> bool:
    """A new role ends every session of the account (they held the old one); False: no change."""
    role = parse_role(role)
    if staff.role is role:
        return False
    if role is not Role.ADMIN:
        _keep_an_admin(staff)
    old = staff.role
    staff.role = role
    rotate_session(staff)
    audit.record(
        "staff.role_changed",
        actor=actor,
        staff_id=staff.id,
        old_role=old.value,
        new_role=role.value,
    )
    notify(staff, StaffNotice.ROLE_CHANGED)
    return True


def deactivate(staff: StaffUser, *, actor: str) -> bool:
    """Switch the account off: its sessions end at once and its API tokens are revoked (they
    would not work anyway; revoked, they stay dead after a reactivation). False: already off."""
    if not staff.active:
        return False
    _keep_an_admin(staff)
    staff.active = False
    rotate_session(staff)
    revoked = api_tokens.revoke_tokens_of(staff, actor=actor)
    audit.record("staff.deactivated", actor=actor, staff_id=staff.id, tokens_revoked=revoked)
    notify(staff, StaffNotice.DEACTIVATED)
    return True


def reactivate(staff: StaffUser, *, actor: str) -> bool:
    if staff.active:
        return False
    staff.active = True
    rotate_session(staff)
    audit.record("staff.reactivated", actor=actor, staff_id=staff.id)
    notify(staff, StaffNotice.REACTIVATED)
    return True


def request_password_reset(typed: str, *, address: str | None) -> None:
    """Mail a reset link if the address is an active account's; the caller says the same to
    everyone. The audit log names an unknown address by a keyed hash only."""
    staff = find_staff(typed)
    if staff is None or not staff.active:
        audit.record(
            "staff.password_reset_requested",
            actor="anonymous",
            outcome="no-account",
            typed=typed_email_key(typed)[:16],
            address=address,
        )
        return
    enqueue_after_commit(Job.SEND_PASSWORD_RESET, staff.id)
    audit.record(
        "staff.password_reset_requested",
        actor="anonymous",
        outcome="sent",
        staff_id=staff.id,
        address=address,
    )


def set_password_through_link(
    staff: StaffUser, kind: links.StaffLink, password: str, *, address: str | None
) -> None:
    """The new password from an invitation or reset link; every session and every API token
    of the account ends, and every link made before (this one too) dies with the old hash."""
    check_new_password(password, email=staff.email)
    staff.password_hash = hash_password(password)
    rotate_session(staff)
    api_tokens.revoke_tokens_of(staff, actor=f"staff:{staff.id}")
    if kind is links.StaffLink.INVITATION:
        staff.invited_at = None
        audit.record("staff.invitation_accepted", actor=f"staff:{staff.id}", address=address)
    else:
        audit.record("staff.password_reset", actor=f"staff:{staff.id}", address=address)
        notify(staff, StaffNotice.PASSWORD_RESET)


def all_staff() -> list[StaffUser]:
    return list(db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)))
