"""Staff accounts: argon2 password hashes, log-in checks, and sessions that the server can end.

A session cookie names the account *and* its current ``session_token``; replacing the token
(``rotate_session``) ends every session of that account, in every browser, at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from alumni import audit
from alumni.accounts import api_tokens, passwords
from alumni.accounts.notices import StaffNotice, notify
from alumni.core.pseudonyms import normalise_email
from alumni.extensions import db
from alumni.models import Role, StaffUser, utcnow
from alumni.people.validation import InvalidValue, Refusal, parse_email

MIN_PASSWORD_LENGTH = 12
# argon2 takes any length; the cap only keeps absurd request bodies from costing memory.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


class AccountError(Refusal):
    """A refused account change."""


class LoginRefusal(StrEnum):
    """Why a login was refused, as the audit log records it."""

    UNKNOWN_ACCOUNT = "unknown-account"
    WRONG_PASSWORD = "wrong-password"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class LoginResult:
    """The account the typed address belongs to (if any), and why the login was refused."""

    staff: StaffUser | None
    refusal: LoginRefusal | None  # None: accepted

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def actor_of(staff: StaffUser | None) -> str:
    return "anonymous" if staff is None else f"staff:{staff.id}"


# -- passwords --------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(password: str, *, email: str | None = None) -> None:
    """Refuse a password that is too short, too long, or easy to guess for someone who knows
    the person's email address (``email``: the account's) and the organisation's name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "short-password",
            _l("A password needs at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            "long-password",
            _l("A password may have at most %(count)d characters.", count=MAX_PASSWORD_LENGTH),
        )
    organisation = current_app.config.get("ORGANISATION_NAME")
    weak = passwords.weakness(password, passwords.user_inputs(email, organisation))
    if weak is not None:
        raise AccountError("weak-password", weak_password_message(weak))


def weak_password_message(weak: passwords.Weakness) -> LazyString:
    """What is wrong and what helps, translated when shown."""
    parts = (_l("This password is too easy to guess."), *weak.feedback)
    return LazyString(lambda: " ".join(str(part) for part in parts))


def verify_password(staff: StaffUser, password: str) -> bool:
    """Check a password; a hash made with older parameters is replaced (the caller commits)."""
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return True


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _spend_verify_time(password: str) -> None:
    """As slow as a real check: the answer time tells nobody whether an account exists."""
    with contextlib.suppress(VerificationError):
        _hasher.verify(_dummy_hash(), password)


# -- accounts ---------------------------------------------------------------------------------


def find_staff(email: str) -> StaffUser | None:
    address = normalise_email(email)
    if not address:
        return None
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == address))


def create_staff(email: str, role: Role | str, password: str, *, actor: str = "cli") -> StaffUser:
    """A new staff account; the caller commits."""
    try:
        address = parse_email(email)
    except InvalidValue as invalid:
        raise AccountError(invalid.code, invalid.message) from None
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(
            "invalid-role",
            _l("Unknown role; choose one of %(roles)s.", roles=", ".join(Role)),
        ) from None
    check_new_password(password, email=address)
    if find_staff(address) is not None:
        raise AccountError(
            "duplicate-email", _l("A staff account with this email address exists already.")
        )
    staff = StaffUser(email=address, role=role, password_hash=hash_password(password))
    db.session.add(staff)
    db.session.flush()
    audit.record("staff.created", actor=actor, staff_id=staff.id, role=role.value)
    return staff


def rotate_session(staff: StaffUser) -> None:
    """End every session of this account on the server side."""
    staff.session_token = secrets.token_urlsafe(32)


def change_password(staff: StaffUser, current: str, new: str, *, address: str | None) -> None:
    """Replace the password, end every session and revoke every API token; the owner is told
    by email. The caller commits, also after a refusal
    (the refusal is in the audit log), and logs this browser in again."""
    if not verify_password(staff, current):
        audit.record(
            "staff.password_change",
            actor=actor_of(staff),
            outcome="failure",
            reason=str(LoginRefusal.WRONG_PASSWORD),
            address=address,
        )
        raise AccountError(LoginRefusal.WRONG_PASSWORD, _l("Your current password is not correct."))
    try:
        check_new_password(new, email=staff.email)
    except AccountError as refusal:
        audit.record(
            "staff.password_change",
            actor=actor_of(staff),
            outcome="failure",
            reason=refusal.code,
            address=address,
        )
        raise
    staff.password_hash = hash_password(new)
    rotate_session(staff)
    # A token made with the old password must not outlive it (issue 13).
    api_tokens.revoke_tokens_of(staff, actor=actor_of(staff))
    audit.record("staff.password_change", actor=actor_of(staff), outcome="success", address=address)
    notify(staff, StaffNotice.PASSWORD_CHANGED)


# -- logging in -------------------------------------------------------------------------------


def typed_email_key(typed: str) -> str:
    """A keyed hash of an address typed at the login: correlates attempts without keeping it."""
    key = current_app.config["PSEUDONYM_KEY"].encode()
    message = f"staff-login:{normalise_email(typed)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check_login(email: str, password: str) -> LoginResult:
    staff = find_staff(email)
    if staff is None:
        _spend_verify_time(password)
        return LoginResult(None, LoginRefusal.UNKNOWN_ACCOUNT)
    if not verify_password(staff, password):
        return LoginResult(staff, LoginRefusal.WRONG_PASSWORD)
    if not staff.active:
        return LoginResult(staff, LoginRefusal.INACTIVE)
    staff.last_login_at = utcnow()
    return LoginResult(staff, None)


def record_login(typed_email: str, result: LoginResult, *, address: str | None) -> None:
    """Audit one attempt. An unknown account is named by a keyed hash, never by the address."""
    details: dict[str, str | None] = {
        "outcome": "success" if result.accepted else "failure",
        "address": address,
    }
    if result.refusal:
        details["reason"] = str(result.refusal)
    if result.staff is None:
        details["typed"] = typed_email_key(typed_email)[:16]
    audit.record("staff.login", actor=actor_of(result.staff), **details)
