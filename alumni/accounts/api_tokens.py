"""API tokens: random, stored only as a SHA-256 hash, revocable, carrying the staff role."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from alumni import audit
from alumni.extensions import db
from alumni.models import ApiToken, StaffUser, utcnow

# last_used_at is for people ("is this token still used?"): one write a minute is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    """A plain SHA-256 suffices: the token is 256 random bits, not a password."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(staff: StaffUser, *, actor: str = "cli") -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored. The caller commits."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(staff=staff, token_hash=token_hash(raw))
    db.session.add(token)
    db.session.flush()
    audit.record("staff.token_created", actor=actor, staff_id=staff.id, token_id=token.id)
    return token, raw


def revoke_token(token: ApiToken, *, actor: str = "cli") -> bool:
    """Revoke one token; False when it was revoked already. The caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record("staff.token_revoked", actor=actor, staff_id=token.staff_id, token_id=token.id)
    return True


def active_tokens(staff: StaffUser) -> list[ApiToken]:
    query = sa.select(ApiToken).where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiToken.id)))


def revoke_tokens_of(staff: StaffUser, *, actor: str = "cli") -> int:
    """Revoke every token of one staff member; returns how many. The caller commits."""
    return sum(revoke_token(token, actor=actor) for token in active_tokens(staff))


def authenticate_token(raw: str | None) -> StaffUser | None:
    """The staff member a bearer token belongs to, or None when it is unknown, revoked, or
    their account is inactive. Notes when the token was used (to the minute): the caller
    commits."""
    if not raw:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
    if token is None or token.revoked_at is not None or not token.staff.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return token.staff
