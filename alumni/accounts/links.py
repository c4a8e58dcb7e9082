"""Links that let a staff member set a password: an invitation (24 hours) and a reset.

A link is signed (itsdangerous, with ``SECRET_KEY``) and names the account and a fingerprint
of its current password hash: setting a password changes the hash, so every link made before
dies at once. That makes a link single-use, and a password change ends the reset links too.
Nothing is stored; a link is made when its mail is sent.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from alumni.extensions import db
from alumni.models import StaffUser


class StaffLink(StrEnum):
    INVITATION = "staff-invitation"
    PASSWORD_RESET = "staff-password-reset"


def lifetime(kind: StaffLink) -> timedelta:
    config = current_app.config
    if kind is StaffLink.INVITATION:
        return timedelta(hours=config["STAFF_INVITE_HOURS"])
    return timedelta(minutes=config["PASSWORD_RESET_MINUTES"])


def _serializer(kind: StaffLink) -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=str(kind))


def fingerprint(staff: StaffUser) -> str:
    """Changes with the password hash; tells nothing about it (keyed, shortened)."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{staff.id}:{staff.password_hash}:{staff.active}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


def make_link_token(staff: StaffUser, kind: StaffLink) -> str:
    return _serializer(kind).dumps([staff.id, fingerprint(staff)])


def staff_for_link(token: str, kind: StaffLink) -> StaffUser | None:
    """The account a link is for, or None: unsigned, expired, used, or the account is off."""
    try:
        staff_id, mark = _serializer(kind).loads(token, max_age=int(lifetime(kind).total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(staff_id, int) or not isinstance(mark, str):
        return None
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or not staff.active:
        return None
    if kind is StaffLink.INVITATION and staff.invited_at is None:
        return None
    if not hmac.compare_digest(fingerprint(staff), mark):
        return None
    return staff
