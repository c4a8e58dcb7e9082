"""A way in for graduates who got no email (``/join``): student number, date of birth and an
email address, typed by whoever visits.

1. ``request_join`` (the page): what was typed is kept and its matching queued. The request
   does the same work whatever it will match, and the page answers the same: nobody learns
   from it, or from how long it takes, whether a student number is in our records.
2. ``match_request`` (the job): the keyed hash of the student number and the date of birth
   against the graduates. A match gets a confirmation link at the address typed; no match
   waits for an officer (``queue``); a suppressed address, student number or person is never
   matched, and the request goes without a word to anyone.
3. An officer links a waiting request to a graduate (``link_to``, the same confirmation as a
   match) or rejects it (``reject``).
4. ``confirm`` (the POST behind the confirmation link): the address typed becomes the
   person's, as a confirmed address change does (``alumni.people.addresses``: the old address
   is told and may undo it), and the consent form opens.

What a visitor typed is personal data: kept at most ``KEPT_DAYS`` (``forget_old_requests``),
deleted when confirmed or rejected, and by the erasure of the person it names. Functions here
leave the commit to their caller.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app

from alumni import audit, mail
from alumni.consent.suppression import is_suppressed, suppressed_among, suppression_keys
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.core.pseudonyms import normalise_email, student_key
from alumni.erasure import is_being_erased, require_ledger_applied
from alumni.extensions import db
from alumni.models import (
    AddressChange,
    Alumnus,
    AlumnusStatus,
    JoinRequest,
    JoinRequestStatus,
    utcnow,
)
from alumni.people import addresses, emails
from alumni.people.links import CAPABILITIES, BadLink, Link, LinkKind, LinkRefusal

# The longest a request is kept, whatever became of it (the "at most 30 days").
KEPT_DAYS = 30


class JoinOutcome(StrEnum):
    """What became of a request at a step: the jobs log it, the officer's page says it."""

    QUEUED = "queued"  # no match: waits for an officer
    LINKED = "linked"  # tied to a graduate: the confirmation link is queued
    SUPPRESSED = "suppressed"  # address, student number or person suppressed: dropped
    SENT = "sent"  # the confirmation link went out
    TAKEN = "taken"  # the address is another graduate's: told so, nothing to confirm
    REFUSED = "refused"  # the mail server refused the address for good
    GONE = "gone"  # nothing left to do


def request_join(student_number: str, date_of_birth: date, email: str, locale: str) -> None:
    """Keep what was typed and queue its matching, the same for every request."""
    request = JoinRequest(
        student_number=student_number,
        date_of_birth=date_of_birth,
        student_key=student_key(student_number),
        email=normalise_email(email),
        locale=locale,
        requested_at=utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    enqueue_after_commit(Job.MATCH_JOIN_REQUEST, request.id)


def match_request(request_id: int) -> JoinOutcome:
    """The job: match a new request against the graduates, and link or queue it."""
    request = db.session.get(JoinRequest, request_id)
    if request is None or request.status is not JoinRequestStatus.NEW:
        return JoinOutcome.GONE
    if _typed_suppressed(request):
        db.session.delete(request)
        return JoinOutcome.SUPPRESSED
    alumnus = db.session.scalar(
        sa.select(Alumnus).where(
            Alumnus.student_key == request.student_key,
            Alumnus.date_of_birth == request.date_of_birth,
            Alumnus.status != AlumnusStatus.ERASED,
        )
    )
    if alumnus is None:
        request.status = JoinRequestStatus.UNMATCHED
        audit.record("join.unmatched", request_id=request.id)
        return JoinOutcome.QUEUED
    return link_to(request, alumnus, actor="system")


def link_to(request: JoinRequest, alumnus: Alumnus, *, actor: str) -> JoinOutcome:
    """Tie the request to the graduate and queue the confirmation link to the address typed.
    A suppressed person or address is never linked: the request goes, nobody is written to."""
    if is_suppressed(alumnus) or _typed_suppressed(request) or is_being_erased(alumnus):
        db.session.delete(request)
        return JoinOutcome.SUPPRESSED
    request.status = JoinRequestStatus.LINKED
    request.alumnus_id = alumnus.id
    request.linked_at = utcnow()
    # From here the person's record says who it is: keep only the address to confirm.
    request.student_number = request.date_of_birth = request.student_key = None
    enqueue_after_commit(Job.SEND_JOIN_CONFIRMATION, request.id)
    audit.record("join.linked", actor=actor, subject_id=alumnus.subject_id, request_id=request.id)
    return JoinOutcome.LINKED


def deliver_confirmation(request_id: int) -> JoinOutcome:
    """The job: send the confirmation link to the address typed, or, when that address is
    another graduate's, say so instead. Mail failures other than a refused address propagate
    (the job retries)."""
    require_ledger_applied()
    request = db.session.get(JoinRequest, request_id)
    if request is None or request.status is not JoinRequestStatus.LINKED:
        return JoinOutcome.GONE
    alumnus = db.session.get(Alumnus, request.alumnus_id)
    if alumnus is None or is_being_erased(alumnus):
        db.session.delete(request)
        return JoinOutcome.GONE
    if is_suppressed(alumnus) or _typed_suppressed(request):
        db.session.delete(request)
        return JoinOutcome.SUPPRESSED
    if not addresses.may_become_theirs(request.email, alumnus):
        message, outcome = emails.address_taken(request.email, request.locale), JoinOutcome.TAKEN
        db.session.delete(request)  # nothing to confirm
    else:
        message, outcome = emails.join_confirmation(alumnus, request), JoinOutcome.SENT
    try:
        mail.send(message)
    except mail.PermanentFailure:
        if outcome is JoinOutcome.SENT:
            db.session.delete(request)
        return JoinOutcome.REFUSED
    return outcome


def waiting_request(link: Link) -> JoinRequest:
    """The request a confirmation link names, linked to its person and not confirmed yet;
    else ``BadLink``."""
    request_id = link.extra[0] if link.extra else None
    request = db.session.get(JoinRequest, request_id) if isinstance(request_id, int) else None
    if (
        request is None
        or request.status is not JoinRequestStatus.LINKED
        or request.alumnus_id != link.alumnus.id
    ):
        raise BadLink(LinkRefusal.REVOKED, link.alumnus)
    return request


def confirm(link: Link, request: JoinRequest) -> bool:
    """The address typed is proven by the click: it becomes the person's (the old one is told
    and may undo it), a graduate never invited counts as invited now, and the request goes.
    False when the address can no longer be theirs; then nothing changes."""
    alumnus = addresses.locked_person(link)
    if not addresses.may_become_theirs(request.email, alumnus):
        return False
    if request.email != alumnus.email:
        change = AddressChange(
            alumnus_id=alumnus.id, new_email=request.email, requested_at=request.requested_at
        )
        db.session.add(change)
        db.session.flush()
        addresses.switch_address(alumnus, change)
    if alumnus.status is AlumnusStatus.IMPORTED:
        # This confirmation was their invitation: ``invite`` must not send another one.
        alumnus.move_to(AlumnusStatus.INVITED)
        alumnus.invited_at = alumnus.invitation_sent_at = utcnow()
    db.session.delete(request)
    audit.record("join.confirmed", actor="alumnus", subject_id=alumnus.subject_id)
    return True


def queue() -> list[JoinRequest]:
    """The requests no graduate matched, oldest first: the officers' queue."""
    return list(
        db.session.scalars(
            sa.select(JoinRequest)
            .where(JoinRequest.status == JoinRequestStatus.UNMATCHED)
            .order_by(JoinRequest.requested_at, JoinRequest.id)
        )
    )


def waiting_for_officer(request_id: int) -> JoinRequest | None:
    request = db.session.get(JoinRequest, request_id)
    if request is None or request.status is not JoinRequestStatus.UNMATCHED:
        return None
    return request


def find_graduate(student_number: str) -> Alumnus | None:
    """The graduate with this student number, for an officer who looks one up."""
    return db.session.scalar(
        sa.select(Alumnus).where(
            Alumnus.student_key == student_key(student_number),
            Alumnus.status != AlumnusStatus.ERASED,
        )
    )


def reject(request: JoinRequest, *, actor: str) -> None:
    """An officer found no graduate for it: the request and all it holds go."""
    audit.record("join.rejected", actor=actor, request_id=request.id)
    db.session.delete(request)


def forget_old_requests(now: datetime) -> int:
    """Retention: a request older than ``KEPT_DAYS``, or linked longer ago than its
    confirmation link lives, goes; returns how many went."""
    kept = now - timedelta(days=KEPT_DAYS)
    link_died = now - CAPABILITIES[LinkKind.JOIN].lifetime(current_app.config)
    return db.session.execute(
        sa.delete(JoinRequest)
        .where(
            sa.or_(
                JoinRequest.requested_at < kept,
                sa.and_(
                    JoinRequest.status == JoinRequestStatus.LINKED,
                    JoinRequest.linked_at < link_died,
                ),
            )
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def _typed_suppressed(request: JoinRequest) -> bool:
    """Whether the address or the student number typed is on the suppression list."""
    return bool(suppressed_among(suppression_keys(request.email, request.student_key)))
