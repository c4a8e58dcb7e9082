"""The privacy notice for alumni, each published version kept whole: the text a person agreed
under is part of the proof of their consent (Art. 7(1) GDPR)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, utcnow


class PrivacyNotice(db.Model):
    """One version of the notice in Dutch and English, with the SHA-256 of each text (its
    UTF-8 bytes as stored), so that a receipt or an auditor can check the text is the one.

    ``material``: the change asks everyone for their consent again. A version whose text was
    not recorded (in use before notices were stored) has empty texts and no digests.
    Published versions are never changed or deleted."""

    __tablename__ = "privacy_notices"

    version: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    material: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    text_nl: Mapped[str] = mapped_column(sa.Text)
    text_en: Mapped[str] = mapped_column(sa.Text)
    sha256_nl: Mapped[str | None] = mapped_column(sa.String(64))
    sha256_en: Mapped[str | None] = mapped_column(sa.String(64))

    @property
    def recorded(self) -> bool:
        return self.sha256_nl is not None

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_nl

    def sha256(self, language: str) -> str | None:
        return self.sha256_en if language == "en" else self.sha256_nl


class PublishedNoticeChanged(Exception):
    """A published notice is evidence: it is written once and never changed."""


@event.listens_for(PrivacyNotice, "before_update")
@event.listens_for(PrivacyNotice, "before_delete")
def _refuse_change(mapper: object, connection: object, target: PrivacyNotice) -> None:
    raise PublishedNoticeChanged(f"privacy notice {target.version} is published")
