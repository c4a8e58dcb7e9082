"""Consent per purpose: record decisions with their evidence, and answer the questions on it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from alumni.consent import notices
from alumni.core.metrics import count
from alumni.extensions import db
from alumni.models import Alumnus, Consent, ConsentEvidence, ConsentState, EvidenceChannel, utcnow
from alumni.models.purpose import Purpose


def current_choices(alumnus: Alumnus) -> dict[Purpose, bool]:
    """Every purpose with True (consent given) or False (no consent)."""
    granted = {consent.purpose for consent in alumnus.consents if consent.granted}
    return {purpose: purpose in granted for purpose in Purpose}


def granted_purposes(alumnus: Alumnus) -> list[Purpose]:
    return [purpose for purpose, yes in current_choices(alumnus).items() if yes]


def consent_dates(alumnus: Alumnus) -> dict[Purpose, object]:
    """When each granted consent was given: emails say "you said yes to events on ..."."""
    return {c.purpose: c.changed_at for c in alumnus.consents if c.granted}


def record_choices(
    alumnus: Alumnus,
    choices: Mapping[Purpose, bool],
    channel: EvidenceChannel,
    at: datetime | None = None,
) -> list[Purpose]:
    """Store each decision that differs from the current one, with its evidence.

    The first answer to the consent form records all five, "no" included: that the person said
    no is evidence too. Returns the purposes whose state changed. ``at`` is the time of the
    decision when it was made earlier (the erasure replay); by default now.
    """
    now = at or utcnow()
    notice = notices.version_in_force()
    existing = {consent.purpose: consent for consent in alumnus.consents}
    changed = []
    for purpose, yes in choices.items():
        state = ConsentState.GRANTED if yes else ConsentState.WITHDRAWN
        consent = existing.get(purpose)
        if consent is not None and consent.state is state:
            continue
        if consent is None:
            consent = Consent(purpose=purpose, state=state)
            alumnus.consents.append(consent)
        consent.state = state
        consent.changed_at = now
        consent.notice_version = notice
        db.session.add(
            ConsentEvidence(
                subject_id=alumnus.subject_id,
                purpose=purpose,
                decision=state,
                recorded_at=now,
                notice_version=notice,
                channel=channel,
            )
        )
        changed.append(purpose)
        count("alumni_consent_changes", purpose.value, state.value)
    return changed


def renew(
    alumnus: Alumnus,
    channel: EvidenceChannel = EvidenceChannel.RENEWAL,
    purposes: Collection[Purpose] | None = None,
    at: datetime | None = None,
) -> list[Purpose]:
    """ "Keep my choices", asked again: every consent given (or those of ``purposes``) is given
    anew under the notice in force, with evidence. Not a change: the state stays, its date and
    notice move on, which ``record_choices`` (changes only) would not record. Returns the
    purposes renewed; a person with no consent renews nothing."""
    now = at or utcnow()
    notice = notices.version_in_force()
    renewed = []
    for consent in alumnus.consents:
        if not consent.granted or (purposes is not None and consent.purpose not in purposes):
            continue
        consent.changed_at = now
        consent.notice_version = notice
        db.session.add(
            ConsentEvidence(
                subject_id=alumnus.subject_id,
                purpose=consent.purpose,
                decision=ConsentState.GRANTED,
                recorded_at=now,
                notice_version=notice,
                channel=channel,
            )
        )
        renewed.append(consent.purpose)
        count("alumni_consent_renewals", consent.purpose.value)
    return renewed


def withdraw_granted(
    alumnus: Alumnus, channel: EvidenceChannel, at: datetime | None = None
) -> list[Purpose]:
    """End every consent given, with evidence; a purpose never consented to records nothing."""
    return record_choices(alumnus, dict.fromkeys(granted_purposes(alumnus), False), channel, at)
