"""Inviting graduates to the consent form, and sending them a fresh link when they ask."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from alumni import audit, mail
from alumni.bounces.marks import refused_at_send
from alumni.bounces.verp import Sent, Tagged, stamped
from alumni.consent.suppression import is_suppressed
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.core.pseudonyms import normalise_email
from alumni.erasure import require_ledger_applied
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, utcnow
from alumni.people import emails

log = logging.getLogger(__name__)
BATCH = 1000


def invite_graduates(cohort: int | None = None, *, actor: str = "cli") -> list[int]:
    """Queue one invitation per graduate whose invitation has not gone out; returns their ids.

    That includes those queued before whose mail could not be sent: the actor claims each
    invitation before sending, so queueing one twice never sends it twice. Each batch commits
    before its jobs are queued, so a worker never sees an uncommitted row.
    """
    query = sa.select(Alumnus.id).where(*_waiting())
    if cohort is not None:
        query = query.where(Alumnus.graduation_year == cohort)
    ids = list(db.session.scalars(query.order_by(Alumnus.id)))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        db.session.execute(
            sa.update(Alumnus)
            .where(Alumnus.id.in_(batch), Alumnus.status == AlumnusStatus.IMPORTED)
            .values(status=AlumnusStatus.INVITED, invited_at=utcnow())
        )
        for alumnus_id in batch:
            enqueue_after_commit(Job.SEND_INVITATION, alumnus_id)
        db.session.commit()
    if ids:
        audit.record("invitations.queued", actor=actor, count=len(ids), cohort=cohort)
        db.session.commit()
    return ids


def _waiting() -> tuple[sa.ColumnElement[bool], ...]:
    """Graduates whose invitation has not gone out (never queued, or queued and not sent)."""
    return (
        Alumnus.status.in_([AlumnusStatus.IMPORTED, AlumnusStatus.INVITED]),
        Alumnus.invitation_sent_at.is_(None),
    )


def waiting_per_year() -> dict[int, int]:
    """How many graduates wait for an invitation, per graduation year (for the staff page)."""
    query = (
        sa.select(Alumnus.graduation_year, sa.func.count())
        .where(*_waiting())
        .group_by(Alumnus.graduation_year)
        .order_by(Alumnus.graduation_year.desc())
    )
    return {year: count for year, count in db.session.execute(query)}


def queued_unsent() -> int:
    """Invitations queued whose mail has not gone out yet: being sent, or waiting for the
    mail server (queueing them again never sends one twice)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Alumnus)
        .where(*_waiting(), Alumnus.status == AlumnusStatus.INVITED)
    )


def deliver_invitation(alumnus_id: int) -> str:
    """Send one invitation unless it went out already; returns what happened. Commits its
    claim before the send (a retry finds it and never sends twice), and the outcome."""
    require_ledger_applied()
    alumnus = db.session.get(Alumnus, alumnus_id)
    if alumnus is None or alumnus.status is not AlumnusStatus.INVITED:
        return "not-invited"
    if alumnus.invitation_sent_at is not None:
        return "already-sent"
    if is_suppressed(alumnus):
        return "suppressed"
    if alumnus.undeliverable_at is not None:
        return "undeliverable"
    # Claim first: a retry after a crash finds the claim and does not send twice.
    claimed = db.session.execute(
        sa.update(Alumnus)
        .where(Alumnus.id == alumnus_id, Alumnus.invitation_sent_at.is_(None))
        .values(invitation_sent_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return "already-sent"
    message = stamped(
        emails.invitation(alumnus), Tagged(Sent.INVITATION, alumnus.id, alumnus.link_version)
    )
    try:
        mail.send(message)
    except mail.TemporaryFailure:
        db.session.execute(
            sa.update(Alumnus).where(Alumnus.id == alumnus_id).values(invitation_sent_at=None)
        )
        db.session.commit()
        raise
    except mail.PermanentFailure as failure:
        # Sent for good either way (a retry would be refused again); an address refused
        # as such is marked undeliverable, as a bounce that came back later would.
        refused_at_send(db.session.connection(), alumnus_id=alumnus_id, code=failure.code)
        audit.record("invitation.bounced", subject_id=alumnus.subject_id, code=failure.code)
        db.session.commit()
        return "bounced"
    log.info("invitation sent to alumnus %s", alumnus_id)
    return "sent"


def request_fresh_link(address: str) -> None:
    """Queue a fresh link if the address belongs to someone invited; say nothing either way."""
    alumnus = db.session.scalar(sa.select(Alumnus).where(Alumnus.email == normalise_email(address)))
    if alumnus is not None:
        request_link_for(alumnus)


def request_link_for(alumnus: Alumnus) -> None:
    """The person asks for a fresh link (at ``/link``, or on an opt-out page, which hands out
    none itself): it goes to the address on file, if they have a link to get."""
    if alumnus.status in (AlumnusStatus.INVITED, AlumnusStatus.RESPONDED):
        enqueue_after_commit(Job.SEND_FRESH_LINK, alumnus.id)
        audit.record("link.requested", actor="alumnus", subject_id=alumnus.subject_id)


def send_fresh_link(alumnus: Alumnus, *, actor: str) -> bool:
    """Staff send a fresh link to the address we hold (a request by phone or letter);
    False when the person has no link to get (not invited yet, or erased)."""
    if alumnus.status not in (AlumnusStatus.INVITED, AlumnusStatus.RESPONDED):
        return False
    enqueue_after_commit(Job.SEND_FRESH_LINK, alumnus.id)
    audit.record("link.sent_by_staff", actor=actor, subject_id=alumnus.subject_id)
    return True


def deliver_fresh_link(alumnus_id: int) -> str:
    require_ledger_applied()
    alumnus = db.session.get(Alumnus, alumnus_id)
    if alumnus is None or alumnus.status not in (AlumnusStatus.INVITED, AlumnusStatus.RESPONDED):
        return "not-invited"
    if is_suppressed(alumnus):
        return "suppressed"
    if alumnus.undeliverable_at is not None:
        return "undeliverable"
    tagged = Tagged(Sent.FRESH_LINK, alumnus.id, alumnus.link_version)
    mail.send(stamped(emails.fresh_link(alumnus), tagged))
    return "sent"


def count_unsent(ids: list[int]) -> int:
    """How many of these invited graduates have no invitation sent yet."""
    total = 0
    for start in range(0, len(ids), BATCH):
        total += (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Alumnus)
                .where(
                    Alumnus.id.in_(ids[start : start + BATCH]),
                    Alumnus.status == AlumnusStatus.INVITED,
                    Alumnus.invitation_sent_at.is_(None),
                )
            )
            or 0
        )
    return total
