"""One campaign's emails to the people of one batch: claim, check under lock, send, record.

Two couriers, one per database, keep the same promises:

- a delivery is *claimed* under the unique key (campaign, alumnus), committed before anything is
  sent, so that no crash or retry ever sends twice (I3);
- consent and status are read under a lock that is held while the email is handed to SMTP: a
  withdrawal committed before is seen; one arriving during the send waits for it, so a
  withdrawal that has committed is never followed by an email (I1, I2);
- at most one email per worker thread is ever handed over and not yet recorded: it is the one
  a crash can leave in doubt, and it is never sent again.

``SQLiteCourier`` (``couriers.sqlite``) does this one email at a time: the claim in its own
transaction, then one transaction that takes the database's write lock, reads, sends and
records. ``PostgresCourier`` (``couriers.postgres``) claims and locks a chunk of people at once
and records each email durably before the next one leaves. This module holds what they share.

Suppression is looked up once per batch: erasure and withdrawal end the consent in the same
transaction that suppresses the address, so the check under lock covers them; an address that
changed since the look-up is looked up again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from alumni import mail, opens
from alumni.campaigns.content import CampaignSnapshot, Personaliser, RenewalPersonaliser
from alumni.consent import notices, renewal
from alumni.consent.suppression import suppression_keys
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignStatus,
    Consent,
    ConsentState,
    Delivery,
    DeliveryStatus,
    SkipReason,
    Suppression,
    SuppressionReason,
    utcnow,
)
from alumni.models.base import among
from alumni.models.purpose import Purpose

# SMTP codes that mean the address itself is bad: suppress it.
HARD_BOUNCE_CODES = {550, 551, 553}

Tally = Counter[tuple[str, ...]]


class CampaignStopped(Exception):
    """The campaign was paused or cancelled while a batch was being sent."""


@dataclass(frozen=True)
class Person:
    """The person as the send transaction reads them, with their consent for the purpose."""

    id: int
    subject_id: str
    link_version: int
    status: AlumnusStatus
    locale: str
    email: str | None
    student_key: str | None
    preferred_name: str | None
    first_name: str | None
    paused_at: datetime | None
    consent: ConsentState | None
    consent_since: datetime | None

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name or ""


PERSON_COLUMNS = (
    Alumnus.id,
    Alumnus.subject_id,
    Alumnus.link_version,
    Alumnus.status,
    Alumnus.locale,
    Alumnus.email,
    Alumnus.student_key,
    Alumnus.preferred_name,
    Alumnus.first_name,
    Alumnus.paused_at,
)


def skip_reason(person: Person | None, suppressed: bool) -> SkipReason | None:
    """Why this person may not get the email now, or None: the one place that decides."""
    if person is None or person.status is AlumnusStatus.ERASED:
        return SkipReason.ERASED
    if person.consent is not ConsentState.GRANTED:
        return SkipReason.NO_CONSENT
    if person.paused_at is not None:
        return SkipReason.PAUSED
    if not person.email:
        return SkipReason.NO_ADDRESS
    if suppressed:
        return SkipReason.SUPPRESSED
    return None


class Courier:
    """Delivers one campaign's emails on one worker thread: what every courier shares.

    Use as a context manager around a batch; ``tally`` collects the metrics, which the caller
    records once per batch. ``alumni.campaigns.sending.courier_for`` picks the courier for the
    database. ``claims`` is an autocommit connection, ``sends`` the one whose transaction holds
    the locks while emails leave.
    """

    def __init__(self, campaign: CampaignSnapshot, tally: Tally | None = None) -> None:
        self.campaign = campaign
        self.tally: Tally = Counter() if tally is None else tally
        self._suppressed: dict[int, tuple[str | None, bool]] = {}
        self._personaliser = Personaliser(campaign, campaign.body_html)
        self._renewal = (
            RenewalPersonaliser(campaign, notices.version_in_force())
            if campaign.is_renewal
            else None
        )
        # The consent each person's email depends on, read under lock (``read_locked``).
        self.consent_checked = consent_checked(campaign)
        self.claims: Connection
        self.sends: Connection

    def __enter__(self) -> Courier:
        self.claims = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.sends = db.engine.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.sends.rollback()  # what was not committed: nothing was sent
        self.sends.close()
        self.claims.close()

    # -- what the batch knows in advance ------------------------------------------------------

    def look_up_suppressions(self, alumnus_ids: Iterable[int]) -> None:
        """Which of these people are on the suppression list now, in one query."""
        rows = self.sends.execute(
            sa.select(Alumnus.id, Alumnus.email, Alumnus.student_key).where(
                among(Alumnus.id, list(alumnus_ids))
            )
        ).all()
        self.sends.commit()
        keys = {row.id: suppression_keys(row.email, row.student_key) for row in rows}
        listed = self._listed([key for person_keys in keys.values() for key in person_keys])
        for row in rows:
            self._suppressed[row.id] = (row.email, any(key in listed for key in keys[row.id]))

    def _listed(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        query = sa.select(Suppression.key_hash).where(among(Suppression.key_hash, keys))
        listed = set(self.sends.scalars(query))
        self.sends.commit()
        return listed

    def _is_suppressed(self, person: Person) -> bool:
        known = self._suppressed.get(person.id)
        if known is not None and known[0] == person.email:
            return known[1]
        # Not looked up with the batch, or the address changed since: look it up now.
        keys = suppression_keys(person.email, person.student_key)
        query = sa.select(sa.func.count()).where(Suppression.key_hash.in_(keys))
        return bool(keys) and bool(self.sends.scalar(query))

    def email_for(self, person: Person) -> mail.Email:
        """The campaign's email as this person gets it."""
        assert person.consent_since is not None
        if self._renewal is not None:
            return self._renewal.email(person, self._choices(person.id))
        recipient = self._personaliser.recipient(person, person.consent_since)
        pixel = opens.pixel_url(self.campaign)  # made apart from the person, kept nowhere
        return self._personaliser.email(recipient, pixel)

    def _choices(self, alumnus_id: int) -> dict[Purpose, bool]:
        """A renewal lists the person's choices as the send transaction reads them."""
        rows = self.sends.execute(
            sa.select(Consent.purpose, Consent.state).where(Consent.alumnus_id == alumnus_id)
        )
        return {row.purpose: row.state is ConsentState.GRANTED for row in rows}

    def deliver_all(self, alumnus_ids: Sequence[int]) -> list[int]:
        """Deliver to these people in order; returns those whose delivery was claimed before
        (by another job on the same batch). Raises ``TemporaryFailure`` (nothing handed over
        is left claimed: retry later) and ``CampaignStopped``."""
        raise NotImplementedError


# The statements of every email, built once: building them per email costs more than running
# them. Values arrive as bound parameters.
_CLAIMED = Delivery.status == DeliveryStatus.CLAIMED
_THIS_DELIVERY = Delivery.id == sa.bindparam("delivery_id")
_UNCLAIM = sa.delete(Delivery).where(_THIS_DELIVERY, _CLAIMED)
_BEGIN = (
    sa.update(Delivery)
    .where(
        _THIS_DELIVERY,
        _CLAIMED,
        sa.exists().where(
            Campaign.id == sa.bindparam("for_campaign"), Campaign.status == CampaignStatus.SENDING
        ),
    )
    .values(attempts=1)
)
_STILL_CLAIMED = sa.select(_CLAIMED).where(_THIS_DELIVERY)
_FINISH = (
    sa.update(Delivery)
    .where(_THIS_DELIVERY, _CLAIMED)
    .values(
        attempts=1,
        status=sa.bindparam("new_status", type_=Delivery.status.type),
        reason=sa.bindparam("new_reason", type_=sa.String),
        finished_at=sa.bindparam("now", type_=Delivery.finished_at.type),
    )
)


# A campaign for a purpose depends on the person's consent for the bound ``purpose``.
FOR_PURPOSE = Consent.purpose == sa.bindparam("purpose", type_=Consent.purpose.type)


def consent_checked(campaign: CampaignSnapshot) -> sa.ColumnElement[bool]:
    """Which of the person's consents their email depends on: the one for the campaign's
    purpose; for a renewal, the first of those due for renewal (none due: nothing to ask)."""
    if not campaign.is_renewal:
        return FOR_PURPOSE
    due = aliased(Consent)
    first_due = (
        sa.select(sa.func.min(due.purpose))
        .where(due.alumnus_id == Alumnus.id, renewal.is_due(due, utcnow()))
        .scalar_subquery()
    )
    return Consent.purpose == first_due


def people_with_consent(
    which: sa.ColumnElement[bool], consent: sa.ColumnElement[bool] = FOR_PURPOSE
) -> sa.Select[Any]:
    """``Person`` rows: these people with the ``consent`` their email depends on, share-locked
    until the commit. People with no such consent row are not among them."""
    return (
        sa.select(*PERSON_COLUMNS, Consent.state, Consent.changed_at)
        .join(Consent, sa.and_(Consent.alumnus_id == Alumnus.id, consent))
        .where(which)
        .with_for_update(read=True, of=[Alumnus.__table__, Consent.__table__])
    )


def people_alone(which: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """``Person`` rows without a consent: nothing to lock, only a reason to name."""
    return sa.select(*PERSON_COLUMNS, sa.null(), sa.null()).where(which)


_PERSON_WITH_CONSENT = people_with_consent(Alumnus.id == sa.bindparam("alumnus_id"))
_PERSON_ALONE = people_alone(Alumnus.id == sa.bindparam("alumnus_id"))


@cache
def _claim_statement(dialect_name: str) -> sa.Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(Delivery)
        .values(
            campaign_id=sa.bindparam("for_campaign"),
            alumnus_id=sa.bindparam("for_alumnus"),
            status=DeliveryStatus.CLAIMED,
            attempts=0,
            created_at=sa.bindparam("now", type_=Delivery.created_at.type),
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "alumnus_id"])
        .returning(Delivery.id)
    )


def claim(connection: Connection, campaign_id: int, alumnus_id: int) -> int | None:
    """Take the (campaign, alumnus) slot on an autocommit connection; the delivery's id, or
    None when the slot was taken before."""
    return connection.scalar(
        _claim_statement(connection.dialect.name),
        {"for_campaign": campaign_id, "for_alumnus": alumnus_id, "now": utcnow()},
    )


def unclaim(connection: Connection, delivery_id: int) -> None:
    """Give the slot back (autocommit): nothing was sent, so the person is still to be mailed."""
    connection.execute(_UNCLAIM, {"delivery_id": delivery_id})


def begin_send(connection: Connection, campaign_id: int, delivery_id: int) -> bool:
    """Open the send transaction; False when the claim was meanwhile ended by the tick (its
    holder looked dead), raises ``CampaignStopped`` when the campaign was paused or cancelled.

    The first statement writes: on SQLite that takes the write lock before anything is read.
    """
    ids = {"delivery_id": delivery_id, "for_campaign": campaign_id}
    if connection.execute(_BEGIN, ids).rowcount:
        return True
    still_claimed = connection.scalar(_STILL_CLAIMED, ids)
    connection.rollback()
    if not still_claimed:
        return False
    raise CampaignStopped


def read_locked(
    connection: Connection,
    alumnus_id: int,
    campaign: CampaignSnapshot,
    consent: sa.ColumnElement[bool] = FOR_PURPOSE,
) -> Person | None:
    """The person and the ``consent`` their email depends on, share-locked until the commit:
    a withdrawal or an erasure waits for the email in hand to be sent, or is seen first."""
    values = {"alumnus_id": alumnus_id, "purpose": campaign.purpose}
    statement = (
        _PERSON_WITH_CONSENT
        if consent is FOR_PURPOSE
        else people_with_consent(Alumnus.id == sa.bindparam("alumnus_id"), consent)
    )
    row = connection.execute(statement, values).first()
    if row is None:
        # No consent row at all (never answered for it, or erased): nothing to lock, only to name.
        row = connection.execute(_PERSON_ALONE, values).first()
    return None if row is None else Person(*row)


def finish(
    connection: Connection, delivery_id: int, status: DeliveryStatus, reason: str | None
) -> None:
    """Record the outcome of a claim; the caller commits."""
    connection.execute(
        _FINISH,
        {"delivery_id": delivery_id, "new_status": status, "new_reason": reason, "now": utcnow()},
    )


def suppress_bounced(connection: Connection, key: str) -> None:
    """A hard bounce: the address goes on the suppression list (a listed one keeps its reason)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(Suppression)
        .values(key_hash=key, reason=SuppressionReason.HARD_BOUNCE, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key_hash"])
    )
