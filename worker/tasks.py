"""The actors: thin adapters around one domain call each. They receive ids, never objects."""

from __future__ import annotations

import logging

import dramatiq

from alumni import erasure
from alumni.accounts import notices
from alumni.campaigns import sending
from alumni.consent import receipts
from alumni.core.jobs import Job
from alumni.extensions import db
from alumni.mail import TemporaryFailure
from alumni.people import addresses, invitations, joining

log = logging.getLogger(__name__)

# Mail servers that are down come back: retry with backoff, for about an hour in all.
MAIL_RETRIES = {"max_retries": 8, "min_backoff": 1_000, "max_backoff": 15 * 60_000}


@dramatiq.actor(actor_name=Job.SEND_INVITATION, **MAIL_RETRIES)
def send_invitation(alumnus_id: int) -> None:
    """Idempotent: the invitation is claimed on the alumnus row before it is sent."""
    outcome = invitations.deliver_invitation(alumnus_id)
    log.info("send_invitation %s: %s", alumnus_id, outcome)


@dramatiq.actor(actor_name=Job.SEND_FRESH_LINK, **MAIL_RETRIES)
def send_fresh_link(alumnus_id: int) -> None:
    """Safe to repeat: a second fresh link is as good as the first."""
    try:
        invitations.deliver_fresh_link(alumnus_id)
    except TemporaryFailure:
        log.warning("send_fresh_link %s: mail server unavailable, will retry", alumnus_id)
        raise


@dramatiq.actor(actor_name=Job.SEND_ADDRESS_CONFIRMATION, **MAIL_RETRIES)
def send_address_confirmation(change_id: int) -> None:
    """Safe to repeat: a second confirmation link is as good as the first."""
    outcome = addresses.deliver_confirmation(change_id)
    db.session.commit()
    log.info("send_address_confirmation %s: %s", change_id, outcome)


@dramatiq.actor(actor_name=Job.SEND_ADDRESS_NOTICE, **MAIL_RETRIES)
def send_address_notice(change_id: int) -> None:
    """Safe to repeat: the old address may hear of its change twice, never not at all."""
    outcome = addresses.deliver_change_notice(change_id)
    db.session.commit()
    log.info("send_address_notice %s: %s", change_id, outcome)


@dramatiq.actor(actor_name=Job.MATCH_JOIN_REQUEST, **MAIL_RETRIES)
def match_join_request(request_id: int) -> None:
    """Idempotent: only a request still new is matched."""
    outcome = joining.match_request(request_id)
    db.session.commit()
    log.info("match_join_request %s: %s", request_id, outcome)


@dramatiq.actor(actor_name=Job.SEND_JOIN_CONFIRMATION, **MAIL_RETRIES)
def send_join_confirmation(request_id: int) -> None:
    """Safe to repeat: a second confirmation link is as good as the first."""
    outcome = joining.deliver_confirmation(request_id)
    db.session.commit()
    log.info("send_join_confirmation %s: %s", request_id, outcome)


@dramatiq.actor(actor_name=Job.SEND_STAFF_INVITATION, **MAIL_RETRIES)
def send_staff_invitation(staff_id: int) -> None:
    """Safe to repeat: a second invitation link is as good as the first."""
    log.info("send_staff_invitation %s: %s", staff_id, notices.deliver_invitation(staff_id))


@dramatiq.actor(actor_name=Job.SEND_PASSWORD_RESET, **MAIL_RETRIES)
def send_password_reset(staff_id: int) -> None:
    """Safe to repeat: a second reset link is as good as the first."""
    log.info("send_password_reset %s: %s", staff_id, notices.deliver_reset(staff_id))


@dramatiq.actor(actor_name=Job.SEND_STAFF_NOTICE, **MAIL_RETRIES)
def send_staff_notice(staff_id: int, notice: str) -> None:
    """Safe to repeat: a person may hear of a change twice, never not at all."""
    log.info(
        "send_staff_notice %s %s: %s", staff_id, notice, notices.deliver_notice(staff_id, notice)
    )


@dramatiq.actor(actor_name=Job.DISPATCH_CAMPAIGN, max_retries=20, max_backoff=5 * 60_000)
def dispatch_campaign(campaign_id: int) -> None:
    """Idempotent: the campaign row is locked and its cursor only moves forward."""
    sending.dispatch(campaign_id)


# A batch may wait on a slow send rate: give it an hour before dramatiq interrupts it.
@dramatiq.actor(
    actor_name=Job.SEND_CAMPAIGN_BATCH,
    max_retries=20,
    min_backoff=5_000,
    max_backoff=10 * 60_000,
    time_limit=60 * 60_000,
)
def send_campaign_batch(batch_id: int) -> None:
    """Idempotent: every delivery is claimed under its unique key before it is sent."""
    try:
        outcome = sending.send_batch(batch_id)
    except TemporaryFailure:
        log.warning("batch %s: mail server unavailable, will retry", batch_id)
        raise
    except erasure.ReplayPending:
        log.warning("batch %s: erasure ledger being replayed, will retry", batch_id)
        raise
    log.info("batch %s: %s", batch_id, outcome)


@dramatiq.actor(
    actor_name=Job.ERASE_ALUMNUS, max_retries=20, min_backoff=1_000, max_backoff=5 * 60_000
)
def erase_alumnus(request_id: int) -> None:
    """Idempotent: the request is claimed on its row; a person erased before stays so."""
    carried = erasure.carry_out(request_id)
    log.info("erase_alumnus %s: %s, %d erased", request_id, carried.outcome, carried.erased)


@dramatiq.actor(actor_name=Job.SEND_RECEIPT, **MAIL_RETRIES)
def send_receipt(alumnus_id: int) -> None:
    """Idempotent: the receipt owed is claimed on the person's row; a second job finds none."""
    try:
        outcome = receipts.deliver_receipt(alumnus_id)
        db.session.commit()
    except TemporaryFailure:
        db.session.rollback()
        log.warning("send_receipt %s: mail server unavailable, will retry", alumnus_id)
        raise
    log.info("send_receipt %s: %s", alumnus_id, outcome)


@dramatiq.actor(
    actor_name=Job.SEND_LAST_RECEIPT, max_retries=20, min_backoff=1_000, max_backoff=5 * 60_000
)
def send_last_receipt(request_id: int) -> None:
    """Idempotent: the receipt is claimed on the person's row, the erasure on its request."""
    outcome, carried = receipts.last_receipt_then_erase(request_id)
    log.info(
        "send_last_receipt %s: %s, %s, %d erased",
        request_id,
        outcome,
        carried.outcome,
        carried.erased,
    )


# `dramatiq worker.tasks` imports this module on its own: create the app, which binds the
# actors to the configured broker and gives them an app context.
import worker  # noqa: E402

if not worker.is_bound():
    from alumni import create_app

    create_app()
