"""Words for staff: a campaign's status, and why a delivery was skipped or failed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from alumni.models import CampaignStatus

STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.SCHEDULED: _l("Scheduled"),
    CampaignStatus.SENDING: _l("Sending"),
    CampaignStatus.PAUSED: _l("Paused"),
    CampaignStatus.SENT: _l("Sent"),
    CampaignStatus.CANCELLED: _l("Cancelled"),
}

# The named reasons of ``alumni.campaigns.delivery.skip_reason`` and of failed deliveries.
REASON_LABELS = {
    "no-consent": _l("No consent for this purpose any more"),
    "erased": _l("Data erased"),
    "paused": _l("Paused all email"),
    "no-address": _l("No email address"),
    "suppressed": _l("Address on the suppression list"),
    "interrupted": _l("Interrupted by a crash while sending (never sent twice)"),
}


def reason_label(reason: str) -> str:
    """A skip or failure reason in words; SMTP refusals keep their code."""
    if reason in REASON_LABELS:
        return str(REASON_LABELS[reason])
    code = reason.removeprefix("smtp-")
    if code != reason and code.isdigit():
        return str(_l("Refused by the mail server (code %(code)s)", code=code))
    return reason
