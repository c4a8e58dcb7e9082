"""The one processing path of every report, whichever way it came in.

The recipient is found by the VERP tag of the address the report came back to, then by the tag
in the original's ``Message-ID``, then by the address the report names. A tag that does not
open (tampered, another installation's) ends it there: the report is ignored. The rules:

- a hard bounce (5.x.x) marks the address undeliverable at once;
- soft bounces (4.x.x, or a delay) mark it when ``SOFT_BOUNCE_LIMIT`` of them arrived within
  ``SOFT_BOUNCE_DAYS`` for the address the person has now;
- a complaint withdraws every consent (evidence channel ``complaint``) and puts the address on
  the suppression list. Anyone can send a report, so a complaint counts only when a tag proves
  that we sent the message: found by the address alone, it is ignored;
- an auto-reply, a report about nobody we know, or about an address the person has left since
  (their link version moved on), is ignored.

Functions here leave the commit to their caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app

from alumni import audit
from alumni.bounces.marks import mark_undeliverable, record_bounce
from alumni.bounces.parsing import read_message
from alumni.bounces.reports import Report, ReportKind
from alumni.bounces.verp import Sent, Tagged, read_tag, tag_in_message_id
from alumni.consent.decisions import withdraw_granted
from alumni.consent.suppression import suppress_address
from alumni.core.pseudonyms import normalise_email
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    Bounce,
    BounceKind,
    BounceSource,
    Delivery,
    EvidenceChannel,
    SuppressionReason,
    UndeliverableReason,
    utcnow,
)


class Action(StrEnum):
    """What a report did."""

    UNDELIVERABLE = "undeliverable"  # the address is marked (now, or was already)
    SOFT_BOUNCE = "soft-bounce"  # counted, below the limit
    COMPLAINT = "complaint"  # consent withdrawn, address suppressed
    IGNORED = "ignored"


class Ignored(StrEnum):
    """Why a report did nothing."""

    AUTO_REPLY = "auto-reply"
    FOREIGN_TAG = "foreign-tag"  # tampered, or made by another installation
    UNKNOWN = "unknown-recipient"  # nobody we know, or erased since
    ADDRESS_LEFT = "address-left"  # about an address the person no longer has
    UNPROVEN_COMPLAINT = "unproven-complaint"  # no tag proves we sent it
    DUPLICATE = "duplicate"  # the same report about the same email, again


class FoundBy(StrEnum):
    TAG = "tag"
    MESSAGE_ID = "message-id"
    ADDRESS = "address"


@dataclass(frozen=True)
class Outcome:
    action: Action
    alumnus_id: int | None = None
    found_by: FoundBy | None = None
    ignored: Ignored | None = None


@dataclass(frozen=True)
class _Found:
    alumnus_id: int
    by: FoundBy
    link_version: int | None = None  # modulo 2**16, from a tag
    campaign_id: int | None = None
    delivery_id: int | None = None


def ingest(raw: bytes, *, source: str, envelope_recipient: str | None = None) -> list[Outcome]:
    """Read one message and record each of its reports; an empty list when it reports nothing
    (neither a bounce nor a complaint nor an auto-reply)."""
    reports = read_message(raw, envelope_recipient=envelope_recipient)
    return [record(report, source=source) for report in reports]


def record(report: Report, *, source: str) -> Outcome:
    """Apply the rules to one report (``source``: pipe, mailbox, ses, postmark)."""
    origin = BounceSource(source)
    if report.kind is ReportKind.AUTO_REPLY:
        return Outcome(Action.IGNORED, ignored=Ignored.AUTO_REPLY)
    found = _find(report)
    if isinstance(found, Ignored):
        return Outcome(Action.IGNORED, ignored=found)
    alumnus = db.session.get(
        Alumnus, found.alumnus_id, with_for_update=True, populate_existing=True
    )
    if alumnus is None or alumnus.is_erased or not alumnus.email:
        return _ignored(found, Ignored.UNKNOWN)
    if found.link_version is not None and found.link_version != alumnus.link_version % 65536:
        return _ignored(found, Ignored.ADDRESS_LEFT)
    if report.kind is ReportKind.COMPLAINT and found.by is FoundBy.ADDRESS:
        return _ignored(found, Ignored.UNPROVEN_COMPLAINT)
    kind = BounceKind(report.kind.value)
    if found.delivery_id is not None and _seen_before(found.delivery_id, kind):
        return _ignored(found, Ignored.DUPLICATE)
    connection = db.session.connection()
    now = utcnow()
    record_bounce(
        connection,
        alumnus_id=alumnus.id,
        kind=kind,
        source=origin,
        status=report.status,
        campaign_id=found.campaign_id,
        delivery_id=found.delivery_id,
        now=now,
    )
    if kind is BounceKind.COMPLAINT:
        _complained(alumnus, origin)
        return Outcome(Action.COMPLAINT, alumnus.id, found.by)
    if kind is BounceKind.SOFT and _soft_bounces(alumnus) < current_app.config["SOFT_BOUNCE_LIMIT"]:
        return Outcome(Action.SOFT_BOUNCE, alumnus.id, found.by)
    reason = (
        UndeliverableReason.HARD_BOUNCE
        if kind is BounceKind.HARD
        else UndeliverableReason.SOFT_BOUNCES
    )
    mark_undeliverable(connection, alumnus.id, reason, source=origin, status=report.status, now=now)
    return Outcome(Action.UNDELIVERABLE, alumnus.id, found.by)


def _find(report: Report) -> _Found | Ignored:
    """The recipient: by the tag of the return path, the tag of the Message-ID, the address."""
    if report.verp_tag:
        return _by_tag(report.verp_tag, FoundBy.TAG)
    tag = tag_in_message_id(report.message_id or "")
    if tag is not None:
        return _by_tag(tag, FoundBy.MESSAGE_ID)
    if report.address:
        query = sa.select(Alumnus.id).where(Alumnus.email == normalise_email(report.address))
        alumnus_id = db.session.scalar(query)
        if alumnus_id is not None:
            return _Found(alumnus_id, FoundBy.ADDRESS)
    return Ignored.UNKNOWN


def _by_tag(tag: str, by: FoundBy) -> _Found | Ignored:
    tagged = read_tag(tag)
    if tagged is None:
        return Ignored.FOREIGN_TAG
    if tagged.sent is not Sent.CAMPAIGN:
        return _Found(tagged.id, by, tagged.link_version)
    return _by_delivery(tagged, by)


def _by_delivery(tagged: Tagged, by: FoundBy) -> _Found | Ignored:
    query = sa.select(Delivery.alumnus_id, Delivery.campaign_id).where(Delivery.id == tagged.id)
    row = db.session.execute(query).first()
    if row is None or row.alumnus_id is None:
        return Ignored.UNKNOWN  # erased since, or its details are past retention
    return _Found(row.alumnus_id, by, tagged.link_version, row.campaign_id, tagged.id)


def _seen_before(delivery_id: int, kind: BounceKind) -> bool:
    query = sa.select(Bounce.id).where(Bounce.delivery_id == delivery_id, Bounce.kind == kind)
    return db.session.scalar(query.limit(1)) is not None


def _soft_bounces(alumnus: Alumnus) -> int:
    """Soft bounces of the address the person has now, within the window (this one included)."""
    since = utcnow() - timedelta(days=current_app.config["SOFT_BOUNCE_DAYS"])
    if alumnus.bounces_counted_from is not None:
        since = max(since, alumnus.bounces_counted_from)
    query = sa.select(sa.func.count()).where(
        Bounce.alumnus_id == alumnus.id,
        Bounce.kind == BounceKind.SOFT,
        Bounce.received_at >= since,
    )
    return db.session.scalar(query) or 0


def _complained(alumnus: Alumnus, origin: BounceSource) -> None:
    """Every consent withdrawn, with the complaint as evidence; the address suppressed."""
    withdrawn = withdraw_granted(alumnus, EvidenceChannel.COMPLAINT)
    assert alumnus.email is not None
    suppress_address(alumnus.email, SuppressionReason.COMPLAINT)
    audit.record(
        "address.complaint",
        subject_id=alumnus.subject_id,
        source=origin.value,
        withdrawn=sorted(purpose.value for purpose in withdrawn),
    )


def _ignored(found: _Found, why: Ignored) -> Outcome:
    return Outcome(Action.IGNORED, found.alumnus_id, found.by, why)
