"""Everything held about one alumnus, as a machine-readable document (access, portability).

The document's form is described by the JSON Schema in ``docs/my-data.schema.json``; a test
validates every export against it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from alumni.extensions import db
from alumni.models import (
    PERSONAL_FIELDS,
    AddressChange,
    Alumnus,
    Campaign,
    ConsentEvidence,
    Delivery,
    DeliveryStatus,
)

EXPORT_VERSION = 1


def export_data(alumnus: Alumnus) -> dict[str, Any]:
    evidence = db.session.scalars(
        sa.select(ConsentEvidence)
        .where(ConsentEvidence.subject_id == alumnus.subject_id)
        .order_by(ConsentEvidence.recorded_at, ConsentEvidence.id)
    )
    received = _emails_received(alumnus)
    personal = {name: _plain(getattr(alumnus, name)) for name in PERSONAL_FIELDS}
    return {
        "format": "alumni-data-export",
        "version": EXPORT_VERSION,
        "organisation": current_app.config["ORGANISATION_NAME"],
        "privacy_contact": current_app.config["PRIVACY_CONTACT"],
        # The id under which the consent evidence is kept: quote it in a request to us.
        "pseudonymous_id": alumnus.subject_id,
        "personal_data": personal,
        "language": alumnus.locale,
        "mail_paused_since": _plain(alumnus.paused_at),
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
        "emails_received": sum(received.values()),
        "emails_received_by_purpose": received,
        "address_changes": [
            {
                "new_email": change.new_email,
                "old_email": change.old_email,
                "requested_at": change.requested_at.isoformat(),
                "confirmed_at": _plain(change.confirmed_at),
            }
            for change in db.session.scalars(
                sa.select(AddressChange)
                .where(AddressChange.alumnus_id == alumnus.id, AddressChange.undone_at.is_(None))
                .order_by(AddressChange.id)
            )
        ],
        "imported_at": _plain(alumnus.imported_at),
        "invited_at": _plain(alumnus.invited_at),
        "invitation_sent_at": _plain(alumnus.invitation_sent_at),
        "responded_at": _plain(alumnus.responded_at),
    }


def _emails_received(alumnus: Alumnus) -> dict[str, int]:
    """Campaign emails sent to the person, per purpose (within the delivery retention)."""
    rows = db.session.execute(
        sa.select(Campaign.purpose, sa.func.count())
        .join(Delivery, Delivery.campaign_id == Campaign.id)
        .where(Delivery.alumnus_id == alumnus.id, Delivery.status == DeliveryStatus.SENT)
        .group_by(Campaign.purpose)
    ).all()
    return {purpose.value: number for purpose, number in sorted(rows)}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
