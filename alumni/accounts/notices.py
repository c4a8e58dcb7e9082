"""The emails to a staff member about their own account: an invitation, a link to set a
forgotten password, and a notice after each change (role, switched off or on, password, a
second factor changed by its owner or reset by an admin).

Each is queued after the commit with the account's id (``Job.SEND_STAFF_...``); the link is
made when the mail is sent, so no token waits in a queue or in the database.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from flask import current_app

from alumni import mail
from alumni.accounts import links
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.extensions import db
from alumni.mail.compose import render_email
from alumni.models import StaffUser
from alumni.models.staff import ROLE_LABELS

log = logging.getLogger(__name__)


class StaffNotice(StrEnum):
    """What happened to an account, as its owner is told."""

    ROLE_CHANGED = "role-changed"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PASSWORD_CHANGED = "password-changed"
    PASSWORD_RESET = "password-reset"
    SECOND_FACTOR_RESET = "second-factor-reset"
    TOTP_REPLACED = "totp-replaced"
    PASSKEY_ADDED = "passkey-added"
    RECOVERY_CODES_RENEWED = "recovery-codes-renewed"


def notify(staff: StaffUser, notice: StaffNotice) -> None:
    """Tell the account's owner after the commit."""
    enqueue_after_commit(Job.SEND_STAFF_NOTICE, staff.id, str(notice))


def _locale() -> str:
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _page(endpoint: str, **values: str) -> str:
    """An absolute URL of a staff page, built without a request (workers send these)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


def invitation_email(staff: StaffUser) -> mail.Email:
    """With single sign-on: sign in with the school account. Else: a link to set a password."""
    if current_app.config.get("OIDC_ISSUER"):  # the school's provider signs them in
        return render_email(
            "staff_invitation",
            to=staff.email,
            locale=_locale(),
            sso=True,
            url=_page("staff.login"),
            role=ROLE_LABELS[staff.role],  # lazy: in the mail's language
        )
    token = links.make_link_token(staff, links.StaffLink.INVITATION)
    return render_email(
        "staff_invitation",
        to=staff.email,
        locale=_locale(),
        sso=False,
        url=_page("staff.accept_invitation", token=token),
        role=ROLE_LABELS[staff.role],  # lazy: in the mail's language
        hours=int(links.lifetime(links.StaffLink.INVITATION).total_seconds() // 3600),
    )


def reset_email(staff: StaffUser) -> mail.Email:
    token = links.make_link_token(staff, links.StaffLink.PASSWORD_RESET)
    return render_email(
        "staff_password_reset",
        to=staff.email,
        locale=_locale(),
        url=_page("staff.reset_password", token=token),
        minutes=int(links.lifetime(links.StaffLink.PASSWORD_RESET).total_seconds() // 60),
    )


def notice_email(staff: StaffUser, notice: StaffNotice) -> mail.Email:
    return render_email(
        "staff_notice",
        to=staff.email,
        locale=_locale(),
        notice=str(notice),
        email=staff.email,
        role=ROLE_LABELS[staff.role],  # lazy: in the mail's language
        url=_page("staff.login"),
        forgot_url=_page("staff.forgot_password"),
    )


def deliver_invitation(staff_id: int) -> str:
    """Send the invitation while it still waits; a second one is as good as the first."""
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or staff.invited_at is None or not staff.active:
        return "not-invited"
    mail.send(invitation_email(staff))
    return "sent"


def deliver_reset(staff_id: int) -> str:
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or not staff.active:
        return "inactive"
    mail.send(reset_email(staff))
    return "sent"


def deliver_notice(staff_id: int, notice: str) -> str:
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        return "gone"
    mail.send(notice_email(staff, StaffNotice(notice)))
    return "sent"
