"""API tokens: random, stored only as a SHA-256 hash, named, expiring, revocable, carrying the
staff role; a token works only while its account is active."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from alumni import audit
from alumni.extensions import db
from alumni.models import ApiToken, StaffUser, utcnow
from alumni.people.validation import Refusal

# last_used_at is for people ("is this token still used?"): one write a minute is enough.
LAST_USED_PRECISION = timedelta(minutes=1)
DEFAULT_DAYS = 90
MAX_NAME = 100


class TokenError(Refusal):
    """A token that cannot be made as asked (its name or its lifetime)."""


class TokenRefusal(StrEnum):
    """Why a bearer token opened nothing; the audit log and the API's answer use these words."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class TokenCheck:
    """The token a raw value names (if any), and why it is refused (None: it works)."""

    token: ApiToken | None
    refusal: TokenRefusal | None

    @property
    def staff(self) -> StaffUser | None:
        return None if self.refusal is not None or self.token is None else self.token.staff


def token_hash(raw: str) -> str:
    """A plain SHA-256 suffices: the token is 256 random bits, not a password."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_name(typed: str | None) -> str:
    """One line of at most MAX_NAME characters, without control characters."""
    name = " ".join((typed or "").split())
    if not name:
        raise TokenError("name-required", _l("Give the token a name: what is it for?"))
    if len(name) > MAX_NAME:
        raise TokenError(
            "name-too-long", _l("A name of at most %(count)d characters.", count=MAX_NAME)
        )
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise TokenError("name-control", _l("The name cannot hold control characters."))
    return name


def max_token_days() -> int:
    return int(current_app.config["API_TOKEN_MAX_DAYS"])


def token_days(days: int | None, max_days: int) -> int:
    """The lifetime asked for, DEFAULT_DAYS when none (or max_days when that is shorter)."""
    if days is None:
        return min(DEFAULT_DAYS, max_days)
    if days < 1 or days > max_days:
        raise TokenError(
            "days-out-of-range",
            _l("A token lives from 1 to %(max_days)d days.", max_days=max_days),
        )
    return days


def create_token(
    staff: StaffUser,
    *,
    name: str = "API token",
    days: int | None = None,
    actor: str = "cli",
) -> tuple[ApiToken, str]:
    """A new token that lives ``days`` (default DEFAULT_DAYS, at most API_TOKEN_MAX_DAYS); the
    raw value is returned once and never stored. The caller commits."""
    name = token_name(name)
    lifetime = token_days(days, max_token_days())
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        staff=staff,
        token_hash=token_hash(raw),
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=lifetime),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "staff.token_created", actor=actor, staff_id=staff.id, token_id=token.id, days=lifetime
    )
    return token, raw


def revoke_token(token: ApiToken, *, actor: str = "cli") -> bool:
    """Revoke one token; False when it was revoked already. The caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record("staff.token_revoked", actor=actor, staff_id=token.staff_id, token_id=token.id)
    return True


def active_tokens(staff: StaffUser) -> list[ApiToken]:
    """Tokens of ``staff`` that are not revoked (expired ones included: they can be revoked)."""
    query = sa.select(ApiToken).where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiToken.id)))


def tokens_to_show(staff: StaffUser | None = None) -> list[ApiToken]:
    """Tokens not revoked, of one staff member or (None) of everyone, newest first."""
    query = sa.select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if staff is not None:
        query = query.where(ApiToken.staff_id == staff.id)
    return list(db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_tokens_of(staff: StaffUser, *, actor: str = "cli") -> int:
    """Revoke every token of one staff member; returns how many. The caller commits."""
    return sum(revoke_token(token, actor=actor) for token in active_tokens(staff))


def is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= token.expires_at


def check_token(raw: str | None) -> TokenCheck:
    """What a bearer token opens. A working token notes when it was used (to the minute):
    the caller commits."""
    if not raw:
        return TokenCheck(None, TokenRefusal.MISSING)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
    if token is None:
        return TokenCheck(None, TokenRefusal.UNKNOWN)
    now = utcnow()
    if token.revoked_at is not None:
        return TokenCheck(token, TokenRefusal.REVOKED)
    if not token.staff.active:
        return TokenCheck(token, TokenRefusal.INACTIVE)
    if is_expired(token, now):
        return TokenCheck(token, TokenRefusal.EXPIRED)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return TokenCheck(token, None)


def authenticate_token(raw: str | None) -> StaffUser | None:
    """The staff member a bearer token belongs to, or None when it is unknown, revoked,
    expired, or their account is inactive. The caller commits (the last use)."""
    return check_token(raw).staff
