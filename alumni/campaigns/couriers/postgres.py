"""Sending on PostgreSQL: claims and locks per chunk of people, one durable record per email.

For each chunk of a batch (up to ``CHUNK`` people, in order of alumnus id):

1. wait for the send rate, for the whole chunk, before any lock is taken;
2. *claim*: one statement on the autocommit connection inserts the chunk's deliveries under
   the unique key (campaign, alumnus), with a new claim group, and commits them to disk (I3);
3. *lock*: one transaction on the other connection holds an advisory lock on the claim group
   (the scheduler's tick leaves the claims of a held group alone) and reads whether the
   campaign is still sending; then it share-locks the people and their consent for the
   purpose and reads them. A withdrawal or erasure committed before is seen; one arriving
   later waits until the chunk is done, so none is followed by an email (I1, I2). An erasure
   locks the person before their deliveries, so it never holds a claim that this chunk has
   yet to record while it waits for the chunk;
4. the skips are recorded at once; then each email is handed to SMTP, and its outcome is
   committed to disk on the autocommit connection before the next one is handed over;
5. the lock transaction ends.

So a chunk has at most one email handed over and not recorded. Should the worker die, that is
the first open claim of its group in order of alumnus id: it may have left, and ends as
"interrupted"; the group's later claims were never handed over and are given back to be sent
(``alumni.campaigns.sending.end_interrupted_claims``). Per email that is one statement, where
one email at a time takes three and two transactions (see docs/benchmarks.md). No row lock is
taken on the deliveries themselves: a lock there, followed by the record's update from the
other connection, would make PostgreSQL write a multixact per email.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alumni import mail
from alumni.campaigns.couriers.base import (
    FOR_PURPOSE,
    HARD_BOUNCE_CODES,
    CampaignStopped,
    Courier,
    Person,
    people_alone,
    people_with_consent,
    skip_reason,
    suppress_bounced,
)
from alumni.campaigns.throttle import most_at_once, throttle
from alumni.core.pseudonyms import email_suppression_key
from alumni.models import (
    Alumnus,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    FailReason,
    WaitingReason,
    utcnow,
)
from alumni.models.base import UTCDateTime

# People per chunk: a withdrawal that arrives mid-chunk waits for at most this many emails.
CHUNK = 20

_IDS = postgresql.ARRAY(sa.Integer)

_CLAIM_CHUNK = sa.text(
    """
    INSERT INTO deliveries (campaign_id, alumnus_id, status, attempts, created_at, claim_group)
    SELECT :campaign_id, alumnus_id, 'claimed', 0, :now, :claim_group
    FROM unnest(:alumnus_ids) AS alumnus_id
    ORDER BY alumnus_id
    ON CONFLICT (campaign_id, alumnus_id) DO NOTHING
    RETURNING alumnus_id, id
    """
).bindparams(sa.bindparam("now", type_=UTCDateTime), sa.bindparam("alumnus_ids", type_=_IDS))

# The claim group is held until the lock transaction ends; the tick tries it before it calls
# the group's claims interrupted.
_HOLD_GROUP = sa.text(
    """
    SELECT campaigns.status FROM campaigns, pg_advisory_xact_lock(:claim_group)
    WHERE campaigns.id = :campaign_id
    """
).columns(sa.column("status", Campaign.status.type))
TRY_GROUP = sa.text("SELECT pg_try_advisory_xact_lock(:claim_group)")

_THESE_PEOPLE = Alumnus.id == sa.any_(sa.bindparam("alumnus_ids", type_=_IDS))
_LOCK_PEOPLE = people_with_consent(_THESE_PEOPLE).order_by(Alumnus.id)
_PEOPLE_ALONE = people_alone(_THESE_PEOPLE)

# The one statement of every email, run on the driver's cursor: through SQLAlchemy it costs
# twice the CPU (docs/benchmarks.md). ``finished_at`` holds UTC without a zone, as everywhere.
_RECORD = """
    UPDATE deliveries SET status = %(status)s, reason = %(reason)s, attempts = 1,
        finished_at = %(now)s
    WHERE id = %(delivery_id)s AND status = 'claimed'
    RETURNING (SELECT status FROM campaigns WHERE campaigns.id = deliveries.campaign_id)
"""


_GIVE_BACK = sa.delete(Delivery).where(
    Delivery.id == sa.any_(sa.bindparam("delivery_ids", type_=_IDS)),
    Delivery.status == DeliveryStatus.CLAIMED,
)


def _naive_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class PostgresCourier(Courier):
    """Delivers one campaign's emails on one worker thread, a chunk of people at a time.

    ``claims`` is the autocommit connection (claims, records, give-backs), ``_records`` a
    cursor of its driver for the record of each email; ``sends`` holds the chunk's locks while
    its emails leave.
    """

    def deliver_all(self, alumnus_ids: Sequence[int]) -> list[int]:
        claimed_by_others: list[int] = []
        size = min(CHUNK, most_at_once() or CHUNK)
        with self.claims.connection.driver_connection.cursor() as records:
            self._records = records
            for start in range(0, len(alumnus_ids), size):
                chunk = sorted(alumnus_ids[start : start + size])
                throttle().wait(len(chunk))
                group = secrets.randbits(62)
                claims = self._claim(chunk, group)
                claimed_by_others += [i for i in chunk if i not in claims]
                if claims:
                    self._deliver_chunk(claims, group)
        return claimed_by_others

    def _claim(self, chunk: list[int], group: int) -> dict[int, int]:
        """Claim the chunk's deliveries together; {alumnus id: delivery id} of those taken."""
        values = {
            "campaign_id": self.campaign.id,
            "alumnus_ids": chunk,
            "now": utcnow(),
            "claim_group": group,
        }
        rows = self.claims.execute(_CLAIM_CHUNK, values)
        return {alumnus_id: delivery_id for alumnus_id, delivery_id in rows}

    def _deliver_chunk(self, claims: dict[int, int], group: int) -> None:
        # Claims handed over to nobody yet: given back if anything stops the chunk. (A skip is
        # recorded, no longer open, and so never given back.)
        pending = sorted(claims.values())
        try:
            to_send = self._lock_and_check(claims, group)
            for delivery_id, person in to_send:
                email = self.email_for(person)
                try:
                    mail.send(email)
                except mail.TemporaryFailure:
                    self.claims.execute(
                        sa.update(Campaign)
                        .where(Campaign.id == self.campaign.id)
                        .values(waiting_reason=WaitingReason.SMTP_UNAVAILABLE)
                    )
                    raise
                except mail.PermanentFailure as failure:
                    pending.remove(delivery_id)
                    self._refused(delivery_id, email, failure)
                    continue
                pending.remove(delivery_id)
                if self._record(delivery_id, DeliveryStatus.SENT) is False:
                    raise CampaignStopped
                self.tally["alumni_emails_sent", self.campaign.sent_label] += 1
        except BaseException:
            self.sends.rollback()  # the locks go; an erasure or withdrawal may go ahead
            self._give_back(pending)
            raise
        self.sends.commit()

    def _lock_and_check(self, claims: dict[int, int], group: int) -> list[tuple[int, Person]]:
        """Hold the group, lock the people; record the skips. The claims to send, in order;
        raises ``CampaignStopped`` when the campaign no longer sends."""
        values = {"claim_group": group, "campaign_id": self.campaign.id}
        if self.sends.execute(_HOLD_GROUP, values).scalar() is not CampaignStatus.SENDING:
            raise CampaignStopped
        people = self._read_people(list(claims))
        to_send: list[tuple[int, Person]] = []
        skips: list[dict[str, object]] = []
        now = _naive_utc()
        for alumnus_id, delivery_id in sorted(claims.items()):
            person = people.get(alumnus_id)
            reason = skip_reason(person, person is not None and self._is_suppressed(person))
            if reason is None:
                assert person is not None
                to_send.append((delivery_id, person))
            else:
                skipped = DeliveryStatus.SKIPPED.value
                skips.append(
                    {"delivery_id": delivery_id, "status": skipped, "reason": reason, "now": now}
                )
                self.tally["alumni_emails_skipped", reason] += 1
        if skips:
            self._records.executemany(_RECORD, skips)
        return to_send

    def _read_people(self, alumnus_ids: list[int]) -> dict[int, Person]:
        purpose = self.campaign.purpose
        statement = (
            _LOCK_PEOPLE
            if self.consent_checked is FOR_PURPOSE
            else people_with_consent(_THESE_PEOPLE, self.consent_checked).order_by(Alumnus.id)
        )
        rows = self.sends.execute(statement, {"alumnus_ids": alumnus_ids, "purpose": purpose})
        people = {row.id: Person(*row) for row in rows}
        missing = [i for i in alumnus_ids if i not in people]
        if missing:
            for row in self.sends.execute(_PEOPLE_ALONE, {"alumnus_ids": missing}):
                people[row.id] = Person(*row)
        return people

    def _record(
        self, delivery_id: int, status: DeliveryStatus, reason: str | None = None
    ) -> bool | None:
        """Commit the outcome to disk; whether the campaign is still sending (None: the claim
        was no longer open, which the locks rule out: the tick leaves a held group alone, an
        erasure waits for the person)."""
        values = {
            "delivery_id": delivery_id,
            "status": status.value,
            "reason": reason,
            "now": _naive_utc(),
        }
        row = self._records.execute(_RECORD, values).fetchone()
        return None if row is None else row[0] == CampaignStatus.SENDING

    def _refused(self, delivery_id: int, email: mail.Email, failure: mail.PermanentFailure) -> None:
        reason = FailReason.smtp(failure.code)
        if failure.code in HARD_BOUNCE_CODES:
            suppress_bounced(self.claims, email_suppression_key(email.to))
        self._record(delivery_id, DeliveryStatus.FAILED, reason)
        self.tally["alumni_emails_failed", reason] += 1

    def _give_back(self, delivery_ids: list[int]) -> None:
        """Nothing was handed over for these: delete the claims, so the people are mailed later."""
        if delivery_ids:
            self.claims.execute(_GIVE_BACK, {"delivery_ids": delivery_ids})
