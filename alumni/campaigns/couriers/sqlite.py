"""The courier on SQLite: one email at a time (see ``couriers.base`` for the promises)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alumni import mail
from alumni.campaigns.couriers.base import (
    HARD_BOUNCE_CODES,
    Courier,
    Person,
    begin_send,
    claim,
    finish,
    read_locked,
    skip_reason,
    suppress_bounced,
    unclaim,
)
from alumni.campaigns.throttle import throttle
from alumni.core.pseudonyms import email_suppression_key
from alumni.models import Campaign, DeliveryStatus, FailReason, WaitingReason


class SQLiteCourier(Courier):
    """One email at a time: the claim in its own transaction, then one transaction that takes
    the write lock, reads, sends and records (SQLite, which has one writer at a time)."""

    def deliver_all(self, alumnus_ids: Sequence[int]) -> list[int]:
        return [i for i in alumnus_ids if self.deliver(i) == "claimed-before"]

    def deliver(self, alumnus_id: int) -> str:
        """Claim, check under lock, send, record.

        Returns "sent", "failed", "claimed-before", "claim-lost" or the reason of a skip;
        raises ``TemporaryFailure`` (nothing recorded, retry later) and ``CampaignStopped``.
        """
        campaign = self.campaign
        throttle().wait()  # before any lock: the wait may be long, a withdrawal must not wait
        delivery_id = claim(self.claims, campaign.id, alumnus_id)
        if delivery_id is None:
            return "claimed-before"
        try:
            began, person = self._begin_and_read(delivery_id, alumnus_id)
            if not began:
                return "claim-lost"
            reason = skip_reason(person, person is not None and self._is_suppressed(person))
            if reason is None:
                assert person is not None
                email = self.email_for(person)
        except BaseException:
            # Nothing has left: give the slot back so that the person is mailed later.
            self.sends.rollback()
            unclaim(self.claims, delivery_id)
            raise
        if reason is not None:
            self._finish(delivery_id, DeliveryStatus.SKIPPED, reason)
            self.tally["alumni_emails_skipped", reason] += 1
            return reason
        try:
            mail.send(email)
        except mail.TemporaryFailure:
            self.sends.rollback()
            unclaim(self.claims, delivery_id)
            self.claims.execute(
                sa.update(Campaign)
                .where(Campaign.id == campaign.id)
                .values(waiting_reason=WaitingReason.SMTP_UNAVAILABLE)
            )
            raise
        except mail.PermanentFailure as failure:
            if failure.code in HARD_BOUNCE_CODES:
                suppress_bounced(self.sends, email_suppression_key(email.to))
            self._finish(delivery_id, DeliveryStatus.FAILED, FailReason.smtp(failure.code))
            self.tally["alumni_emails_failed", FailReason.smtp(failure.code)] += 1
            return "failed"
        self._finish(delivery_id, DeliveryStatus.SENT, None)
        self.tally["alumni_emails_sent", campaign.sent_label] += 1
        return "sent"

    def _begin_and_read(self, delivery_id: int, alumnus_id: int) -> tuple[bool, Person | None]:
        """Open the send transaction: lock and read the person with their consent (None: no
        such person). False first when the tick ended the claim; raises ``CampaignStopped``."""
        if not begin_send(self.sends, self.campaign.id, delivery_id):
            return False, None
        return True, read_locked(self.sends, alumnus_id, self.campaign, self.consent_checked)

    def _finish(self, delivery_id: int, status: DeliveryStatus, reason: str | None) -> None:
        """Record the outcome and end the send transaction, which releases the lock."""
        finish(self.sends, delivery_id, status, reason)
        self.sends.commit()
