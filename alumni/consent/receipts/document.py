"""The consent receipt as JSON, after the Kantara Initiative Consent Receipt Specification 1.1.

It is pseudonymous: the person is named by their ``subject_id`` (the pseudonym of the evidence
and the audit log), never by name or address. ``docs/consent-receipt.md`` says where each field
comes from, ``docs/consent-receipt.schema.json`` checks the shape; the fields the
specification does not have (the notice's version and SHA-256, the purposes without consent,
whether the data is being erased, each purpose's code) are marked there as extensions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from alumni.consent import notices
from alumni.consent.decisions import current_choices
from alumni.extensions import db
from alumni.models import Alumnus, ConsentEvidence, EvidenceChannel, PrivacyNotice, utcnow
from alumni.models.purpose import Purpose

SPEC_VERSION = "KI-CR-v1.1.0"
JURISDICTION = "NL"
SERVICE = "alumni"

# How the answer was given, in the receipt's words (fixed English, for machines to compare).
COLLECTION_METHODS = {
    EvidenceChannel.OPTIN_FORM: "web form: the consent form, reached by a link sent by email",
    EvidenceChannel.PREFERENCES: "web form: the preferences page, reached by a link sent by email",
    EvidenceChannel.ONE_CLICK: "one-click opt-out from an email (RFC 8058)",
    EvidenceChannel.UNSUBSCRIBE_PAGE: "web form: the opt-out page of an email",
    EvidenceChannel.STAFF: "request to the alumni office, by email or letter",
    EvidenceChannel.ERASURE: "erasure of the data",
    EvidenceChannel.RENEWAL: "web form: the renewal page, reached by a link sent by email",
    EvidenceChannel.LAPSED: "no answer when asked again, within the grace period",
}
PURPOSE_CATEGORIES = {
    Purpose.COURSES: ["Marketing"],
    Purpose.VACANCIES: ["Marketing"],
    Purpose.EVENTS: ["Marketing"],
    Purpose.RESEARCH: ["Research"],
    Purpose.SURVEYS: ["Feedback"],
}
# What each purpose uses of the data we hold: the name to address the person, the address to
# write to, programme and graduation year to choose whom to write.
PII_CATEGORIES = ["Biographical", "Contact", "Education"]
TERMINATION = _l(
    "Until you withdraw it: with the opt-out link in every email or on your preferences page. "
    "With no consent left, your data is erased."
)


@dataclass(frozen=True)
class ReceiptFacts:
    """What a receipt states: the person's choices as they are now, and the answer that led
    to them (its time, channel and notice)."""

    subject_id: str
    language: str
    choices: dict[Purpose, bool]
    decided_at: datetime
    channel: EvidenceChannel
    notice: PrivacyNotice
    erasure: bool

    @property
    def notice_sha256(self) -> str | None:
        return self.notice.sha256(self.language)


def facts_of(alumnus: Alumnus, *, erasure: bool) -> ReceiptFacts:
    """The receipt's facts for the person now; the last decision recorded gives its time,
    channel and notice (several answers in one receipt: the latest)."""
    latest = db.session.execute(
        sa.select(
            ConsentEvidence.recorded_at, ConsentEvidence.channel, ConsentEvidence.notice_version
        )
        .where(ConsentEvidence.subject_id == alumnus.subject_id)
        .order_by(ConsentEvidence.recorded_at.desc(), ConsentEvidence.id.desc())
        .limit(1)
    ).first()
    if latest is None:  # a receipt follows a decision: only by mistake is there none
        decided_at, channel, notice = utcnow(), EvidenceChannel.PREFERENCES, notices.in_force()
    else:
        decided_at, channel = latest.recorded_at, latest.channel
        notice = notices.find(latest.notice_version) or notices.in_force()
    return ReceiptFacts(
        subject_id=alumnus.subject_id,
        language=alumnus.locale if alumnus.locale in ("nl", "en") else "nl",
        choices=current_choices(alumnus),
        decided_at=decided_at,
        channel=channel,
        notice=notice,
        erasure=erasure,
    )


def notice_url(facts: ReceiptFacts) -> str:
    """The notice's public page, in the receipt's language: the text whose digest it gives."""
    base = current_app.config["BASE_URL"]
    return f"{base}/privacy/{facts.notice.version}?lang={facts.language}"


def receipt_document(facts: ReceiptFacts) -> dict[str, Any]:
    """The receipt; each call is a new receipt with an id of its own."""
    with force_locale(facts.language):
        granted = [purpose for purpose, yes in facts.choices.items() if yes]
        refused = [purpose for purpose, yes in facts.choices.items() if not yes]
        return {
            "version": SPEC_VERSION,
            "jurisdiction": JURISDICTION,
            "consentTimestamp": int(facts.decided_at.timestamp()),
            "collectionMethod": COLLECTION_METHODS[facts.channel],
            "consentReceiptID": str(uuid.uuid4()),
            "language": facts.language,
            "piiPrincipalId": facts.subject_id,
            "piiControllers": [_controller()],
            "policyUrl": notice_url(facts),
            "services": [
                {"service": SERVICE, "purposes": [_purpose(purpose) for purpose in granted]}
            ],
            "sensitive": False,
            "spiCat": [],
            # Extensions (docs/consent-receipt.md):
            "noticeVersion": facts.notice.version,
            "noticeSha256": facts.notice_sha256,
            "notConsented": [
                {"purposeCode": purpose.value, "purpose": purpose.label} for purpose in refused
            ],
            "erasureRequested": facts.erasure,
        }


def _purpose(purpose: Purpose) -> dict[str, Any]:
    return {
        "purpose": purpose.label,
        "purposeCode": purpose.value,  # extension
        "purposeCategory": PURPOSE_CATEGORIES[purpose],
        "consentType": "EXPLICIT",
        "piiCategory": PII_CATEGORIES,
        "primaryPurpose": True,
        "termination": str(TERMINATION),
        "thirdPartyDisclosure": False,
    }


def _controller() -> dict[str, Any]:
    """The school, from the configuration: whom to ask about the data."""
    config = current_app.config
    contact = config["PRIVACY_CONTACT"]
    return {
        "piiController": config["ORGANISATION_NAME"],
        "onBehalf": False,
        "contact": contact,
        "address": config["ORGANISATION_ADDRESS"],
        "email": contact if "@" in contact else parseaddr(config["MAIL_FROM"])[1],
        "phone": config["ORGANISATION_PHONE"],
        "piiControllerUrl": config["BASE_URL"],
    }
