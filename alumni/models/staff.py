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

    api_tokens = relationship("ApiToken", back_populates="staff", cascade="all, delete-orphan")

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
