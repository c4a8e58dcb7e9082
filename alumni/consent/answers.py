"""What happens when an alumnus answers: the consent form, the preferences, withdrawal.

"No" to every purpose means nothing is kept for alumni purposes: the person is erased. Mail
stops with the answer; the erasure itself follows within seconds (``alumni.erasure``).

Every answer that changes a consent owes the person a consent receipt
(``alumni.consent.receipts``); withdrawing everything owes them the last one, sent before the
erasure. Keeping one's choices when asked again (a renewal) is an answer too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from alumni import audit
from alumni.consent import renewal
from alumni.consent.decisions import granted_purposes, record_choices, renew
from alumni.consent.receipts import owe_receipt
from alumni.erasure import is_being_erased, request_erasure
from alumni.models import (
    PERSONAL_FIELDS,
    Alumnus,
    AlumnusStatus,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)
from alumni.models.purpose import Purpose

# The email address is not among them: a new one waits for its owner (``people.addresses``).
CORRECTABLE_FIELDS = tuple(field for field in PERSONAL_FIELDS if field != "email")


def answer_invitation(
    alumnus: Alumnus, choices: Mapping[Purpose, bool], corrections: Mapping[str, Any]
) -> bool:
    """Record the answers to the consent form; returns True when the person is to be erased."""
    correct_data(alumnus, corrections)
    record_choices(alumnus, choices, EvidenceChannel.OPTIN_FORM)
    if not any(choices.values()):
        withdraw_entirely(alumnus, EvidenceChannel.OPTIN_FORM)
        return True
    if alumnus.status is AlumnusStatus.IMPORTED:
        alumnus.move_to(AlumnusStatus.INVITED)
    alumnus.move_to(AlumnusStatus.RESPONDED)
    alumnus.responded_at = utcnow()
    owe_receipt(alumnus)
    audit.record(
        "consent.answered",
        actor="alumnus",
        subject_id=alumnus.subject_id,
        granted=sorted(p.value for p, yes in choices.items() if yes),
    )
    return False


def change_preferences(
    alumnus: Alumnus,
    choices: Mapping[Purpose, bool],
    corrections: Mapping[str, Any],
    locale: str | None = None,
    paused: bool | None = None,
) -> bool:
    """Apply the preferences form; returns True when no consent is left and the person is to
    be erased."""
    if not any(choices.values()):
        withdraw_entirely(alumnus, EvidenceChannel.PREFERENCES)
        return True
    correct_data(alumnus, corrections)
    changed = record_choices(alumnus, choices, EvidenceChannel.PREFERENCES)
    # Saved while asked to renew: the choices kept are given anew, the answer is in.
    renewed = renewal.answered(alumnus, EvidenceChannel.PREFERENCES)
    if locale:
        alumnus.locale = locale
    if paused is True:
        pause_mail(alumnus)
    elif paused is False and alumnus.paused_at is not None:
        alumnus.paused_at = None
        audit.record("alumnus.unpaused", actor="alumnus", subject_id=alumnus.subject_id)
    if changed or renewed:
        owe_receipt(alumnus)
    if changed:
        audit.record(
            "consent.changed",
            actor="alumnus",
            subject_id=alumnus.subject_id,
            purposes=sorted(p.value for p in changed),
        )
    return False


class OptOut(StrEnum):
    """What an opt-out did, as the page and the one-click answer say it."""

    WITHDRAWN = "purpose"  # no more emails for the purpose
    ERASED = "erased"  # it was the last consent: the person is being erased
    NOTHING_LEFT = "done-before"  # no consent for it was left: nothing changed


def keep_choices(alumnus: Alumnus) -> list[Purpose]:
    """ "Keep my choices" on the renewal page: every consent given is given anew under the
    notice in force, and the person is owed a receipt of it. Returns the purposes renewed."""
    renewed = renew(alumnus)
    if renewed:
        owe_receipt(alumnus)
    return renewed


def opt_out(alumnus: Alumnus, purpose: Purpose, channel: EvidenceChannel) -> OptOut:
    """No more emails for this purpose. Doing it twice changes nothing the second time."""
    granted = set(granted_purposes(alumnus))
    if purpose not in granted:
        return OptOut.NOTHING_LEFT
    if not granted - {purpose}:
        # The last consent: the erasure request withdraws it, with this channel as evidence.
        withdraw_entirely(alumnus, channel)
        return OptOut.ERASED
    record_choices(alumnus, {purpose: False}, channel)
    owe_receipt(alumnus, batched=channel is EvidenceChannel.ONE_CLICK)
    audit.record(
        "consent.opted_out",
        actor="alumnus",
        subject_id=alumnus.subject_id,
        purpose=purpose.value,
        channel=channel.value,
    )
    return OptOut.WITHDRAWN


def decline(alumnus: Alumnus, channel: EvidenceChannel) -> bool:
    """The invitation's opt-out, "do not contact me": as after no to every purpose, the person
    is erased and never invited or mailed again, also after a new import. False when that was
    under way already."""
    if is_being_erased(alumnus):
        return False
    # No receipt: the person asked not to be written to, and consented to nothing.
    request_erasure(alumnus, reason=SuppressionReason.WITHDRAWN, channel=channel, actor="alumnus")
    return True


def pause_mail(alumnus: Alumnus) -> None:
    """Restriction: no email at all, data and choices kept; undone on the preferences."""
    if alumnus.paused_at is None:
        alumnus.paused_at = utcnow()
        audit.record("alumnus.paused", actor="alumnus", subject_id=alumnus.subject_id)


def withdraw_entirely(alumnus: Alumnus, channel: EvidenceChannel) -> None:
    """Every consent ends and mail stops now; the last receipt goes, then the data is erased
    within seconds."""
    request_erasure(
        alumnus,
        reason=SuppressionReason.WITHDRAWN,
        channel=channel,
        actor="alumnus",
        last_receipt=True,
    )


def correct_data(alumnus: Alumnus, corrections: Mapping[str, Any]) -> list[str]:
    """Rectification by the person: store the corrected fields; returns their names. An
    address among the corrections is left alone: ``people.addresses`` asks its owner first."""
    changed = [
        name
        for name in CORRECTABLE_FIELDS
        if name in corrections and corrections[name] != getattr(alumnus, name)
    ]
    for name in changed:
        setattr(alumnus, name, corrections[name])
    if changed:
        audit.record(
            "alumnus.corrected", actor="alumnus", subject_id=alumnus.subject_id, fields=changed
        )
    return changed
