"""Everything held about one alumnus, as a machine-readable document (access, portability)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from alumni.extensions import db
from alumni.models import PERSONAL_FIELDS, Alumnus, ConsentEvidence, Delivery, DeliveryStatus

EXPORT_VERSION = 1


def export_data(alumnus: Alumnus) -> dict[str, Any]:
    evidence = db.session.scalars(
        sa.select(ConsentEvidence)
        .where(ConsentEvidence.subject_id == alumnus.subject_id)
        .order_by(ConsentEvidence.recorded_at, ConsentEvidence.id)
    )
    emails_received = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.alumnus_id == alumnus.id, Delivery.status == DeliveryStatus.SENT)
    )
    personal = {name: _plain(getattr(alumnus, name)) for name in PERSONAL_FIELDS}
    return {
        "format": "alumni-data-export",
        "version": EXPORT_VERSION,
        "organisation": current_app.config["ORGANISATION_NAME"],
        "privacy_contact": current_app.config["PRIVACY_CONTACT"],
        "personal_data": personal,
        "language": alumnus.locale,
        "consents": [
            {
                "purpose": consent.purpose.value,
                "state": consent.state.value,
                "since": consent.changed_at.isoformat(),
                "notice_version": consent.notice_version,
            }
            for consent in sorted(alumnus.consents, key=lambda c: c.purpose.value)
        ],
        "consent_history": [
            {
                "purpose": entry.purpose.value,
                "decision": entry.decision.value,
                "at": entry.recorded_at.isoformat(),
                "notice_version": entry.notice_version,
                "channel": entry.channel.value,
            }
            for entry in evidence
        ],
        "emails_received": emails_received or 0,
        "invited_at": _plain(alumnus.invited_at),
        "responded_at": _plain(alumnus.responded_at),
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
