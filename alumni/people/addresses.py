"""A new email address becomes the person's only when its owner confirms it.

1. ``request_change`` (the preferences or consent form): nothing of the person changes; the
   typed address waits in an ``AddressChange`` and its confirmation goes out by job. The caller
   learns nothing of the address: free, someone else's or suppressed, its answer is the same.
2. ``deliver_confirmation`` (the job): a free address gets the confirmation link (24 hours,
   single use), an address that is someone else's gets an explanation instead, a suppressed one
   gets nothing.
3. ``confirm_change`` (the POST behind the confirmation link): the address is the person's from
   now on, every earlier link dies, and the old address is told, with a link that undoes the
   change within seven days (``deliver_change_notice``, ``undo_change``).

Functions here leave the commit to their caller (a view or an actor).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from alumni import audit, mail
from alumni.consent.suppression import is_address_suppressed
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.erasure import is_being_erased, require_ledger_applied
from alumni.extensions import db
from alumni.models import AddressChange, Alumnus, utcnow
from alumni.people import emails
from alumni.people.links import CAPABILITIES, BadLink, Link, LinkKind, LinkRefusal


def request_change(alumnus: Alumnus, new_address: str) -> None:
    """Ask ``new_address`` to confirm that it is the person's."""
    if new_address == alumnus.email:
        return
    audit.record("address.change_requested", actor="alumnus", subject_id=alumnus.subject_id)
    if is_address_suppressed(new_address):
        return  # never written to again, not even to ask; nothing kept of it
    change = AddressChange(alumnus_id=alumnus.id, new_email=new_address, requested_at=utcnow())
    db.session.add(change)
    db.session.flush()
    enqueue_after_commit(Job.SEND_ADDRESS_CONFIRMATION, change.id)


def deliver_confirmation(change_id: int) -> str:
    """Send the confirmation link, or the explanation, to the new address; returns what
    happened. Mail failures other than a refused address propagate (the job retries)."""
    require_ledger_applied()
    change = db.session.get(AddressChange, change_id)
    if change is None or change.confirmed_at is not None:
        return "gone"
    alumnus = db.session.get(Alumnus, change.alumnus_id)
    if alumnus is None or is_being_erased(alumnus):
        db.session.delete(change)
        return "gone"
    if is_address_suppressed(change.new_email):
        db.session.delete(change)
        return "suppressed"
    if _belongs_to_another(change.new_email, alumnus):
        message = emails.address_taken(change.new_email, alumnus.locale)
        outcome = "taken"
        db.session.delete(change)  # nothing to confirm
    else:
        message = emails.address_confirmation(alumnus, change)
        outcome = "sent"
    try:
        mail.send(message)
    except mail.PermanentFailure:
        db.session.delete(change)
        return "refused"
    return outcome


def waiting_change(link: Link) -> AddressChange:
    """The change a confirmation link names, still waiting for it; else ``BadLink``."""
    change = _named_change(link)
    if change.confirmed_at is not None:
        raise BadLink(LinkRefusal.REVOKED, link.alumnus)
    return change


def confirm_change(link: Link, change: AddressChange) -> bool:
    """Make the new address the person's; False when it can no longer be theirs (someone
    else's by now, or suppressed), and then nothing changes."""
    alumnus = locked_person(link)
    if not may_become_theirs(change.new_email, alumnus):
        return False
    switch_address(alumnus, change)
    enqueue_after_commit(Job.SEND_FRESH_LINK, alumnus.id)
    return True


def may_become_theirs(address: str, alumnus: Alumnus) -> bool:
    """Whether an address can be the person's: not suppressed, not someone else's."""
    return not is_address_suppressed(address) and not _belongs_to_another(address, alumnus)


def switch_address(alumnus: Alumnus, change: AddressChange) -> None:
    """Make the change's new address the person's, its owner having proven it by a click:
    every link sent before dies, other waiting requests go, and the old address is told,
    with the link that undoes the change (``/join`` confirms an address this way too)."""
    change.old_email = alumnus.email
    change.confirmed_at = utcnow()
    alumnus.email = change.new_email
    alumnus.link_version += 1  # every link sent before dies, this one and other requests too
    db.session.execute(
        sa.delete(AddressChange).where(
            AddressChange.alumnus_id == alumnus.id,
            AddressChange.confirmed_at.is_(None),
            AddressChange.id != change.id,
        )
    )
    enqueue_after_commit(Job.SEND_ADDRESS_NOTICE, change.id)
    audit.record("address.changed", actor="alumnus", subject_id=alumnus.subject_id)


def deliver_change_notice(change_id: int) -> str:
    """Tell the old address of a change, with the link that undoes it."""
    require_ledger_applied()
    change = db.session.get(AddressChange, change_id)
    if change is None or change.old_email is None or change.undone_at is not None:
        return "gone"
    alumnus = db.session.get(Alumnus, change.alumnus_id)
    if alumnus is None or alumnus.is_erased:
        return "gone"
    if is_address_suppressed(change.old_email):
        return "suppressed"
    try:
        mail.send(emails.address_changed(alumnus, change))
    except mail.PermanentFailure:
        return "refused"
    return "sent"


def undoable_change(link: Link) -> AddressChange:
    """The change an undo link names: confirmed, not undone, the person's latest."""
    change = _named_change(link)
    latest = db.session.scalar(
        sa.select(sa.func.max(AddressChange.id)).where(
            AddressChange.alumnus_id == change.alumnus_id,
            AddressChange.confirmed_at.is_not(None),
        )
    )
    if change.confirmed_at is None or change.undone_at is not None or change.id != latest:
        raise BadLink(LinkRefusal.REVOKED, link.alumnus)
    return change


def undo_change(link: Link, change: AddressChange) -> bool:
    """Give the person their old address back; False when it can no longer be theirs."""
    alumnus = locked_person(link)
    old = change.old_email
    if old is None or is_address_suppressed(old) or _belongs_to_another(old, alumnus):
        return False
    alumnus.email = old
    alumnus.link_version += 1  # links sent to the new address die
    change.undone_at = utcnow()
    change.old_email = None
    enqueue_after_commit(Job.SEND_FRESH_LINK, alumnus.id)
    audit.record("address.change_undone", actor="alumnus", subject_id=alumnus.subject_id)
    return True


def forget_old_requests(now: datetime) -> int:
    """Retention: a request unconfirmed after its link's lifetime, or confirmed longer ago
    than its undo link's, is of no use any more; returns how many went."""
    config = current_app.config
    waited = now - CAPABILITIES[LinkKind.CONFIRM_ADDRESS].lifetime(config)
    undone = now - CAPABILITIES[LinkKind.KEEP_ADDRESS].lifetime(config)
    return db.session.execute(
        sa.delete(AddressChange)
        .where(
            sa.or_(
                sa.and_(AddressChange.confirmed_at.is_(None), AddressChange.requested_at < waited),
                AddressChange.confirmed_at < undone,
                AddressChange.undone_at.is_not(None),
            )
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def locked_person(link: Link) -> Alumnus:
    """The link's person, locked until the commit, with the link still theirs: of two clicks
    on one link at once, the second finds it used."""
    alumnus = link.alumnus
    db.session.refresh(alumnus, with_for_update=True)
    if alumnus.is_erased or alumnus.link_version != link.version:
        raise BadLink(LinkRefusal.REVOKED)
    return alumnus


def _named_change(link: Link) -> AddressChange:
    change_id = link.extra[0] if link.extra else None
    change = db.session.get(AddressChange, change_id) if isinstance(change_id, int) else None
    if change is None or change.alumnus_id != link.alumnus.id:
        raise BadLink(LinkRefusal.REVOKED, link.alumnus)
    return change


def _belongs_to_another(address: str, alumnus: Alumnus) -> bool:
    query = sa.select(Alumnus.id).where(Alumnus.email == address, Alumnus.id != alumnus.id)
    return db.session.scalar(query.limit(1)) is not None
