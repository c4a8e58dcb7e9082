"""Staff accounts, their API tokens, and the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alumni.extensions import db
from alumni.models.base import UTCDateTime, enum_column, utcnow


class Role(StrEnum):
    ADMIN = "admin"  # everything, plus staff accounts, erasure on request and the audit log
    OFFICER = "officer"  # alumni look-up, campaigns, sending
    RESEARCHER = "researcher"  # only the export of alumni who consent to research

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.OFFICER: _l("Alumni officer"),
    Role.RESEARCHER: _l("Researcher"),
}


class StaffUser(db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, name="staff_role"))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the session cookie: replacing it logs out every session on the server side.
    session_token: Mapped[str] = mapped_column(
        sa.String(43), default=lambda: secrets.token_urlsafe(32)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while an invitation waits: the colleague has not set a password or signed in yet.
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The second factor (alumni.accounts.second_factor): the TOTP key (base32), and the last
    # 30-second step a code was accepted for: a code counts once, never again (no replay).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_counter: Mapped[int | None] = mapped_column(sa.BigInteger)

    api_tokens = relationship("ApiToken", back_populates="staff", cascade="all, delete-orphan")
    recovery_codes = relationship(
        "RecoveryCode", back_populates="staff", cascade="all, delete-orphan"
    )
    passkeys = relationship(
        "Passkey", back_populates="staff", cascade="all, delete-orphan", order_by="Passkey.id"
    )

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # What the token is for, in its owner's words ("nightly report script").
    name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Every token expires: a forgotten script's token does not work for ever.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff = relationship("StaffUser", back_populates="api_tokens")


class RecoveryCode(db.Model):
    """A single-use recovery code, kept only as ``salt$sha256(salt + code)`` (80 random bits)."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff = relationship("StaffUser", back_populates="recovery_codes")


class Passkey(db.Model):
    """A WebAuthn credential: its id, public key (COSE) and the authenticator's sign count."""

    __tablename__ = "staff_passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[str] = mapped_column(sa.String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    name: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff = relationship("StaffUser", back_populates="passkeys")


class AuditEntry(db.Model):
    """Who did what, when. Alumni appear only by pseudonymous subject id, never by name."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(64))  # "staff:3", "cli", "system", "alumnus"
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
