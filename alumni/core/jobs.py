"""Background jobs, queued by name and sent only after the database transaction commits.

The actors live in ``worker.tasks``; the domain names the job it needs and never imports the
worker. A rollback drops the jobs queued in that transaction.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.orm import SessionTransaction

_PENDING = "alumni.pending_jobs"
log = logging.getLogger(__name__)


class Job(StrEnum):
    SEND_INVITATION = "send_invitation"
    SEND_FRESH_LINK = "send_fresh_link"
    SEND_ADDRESS_CONFIRMATION = "send_address_confirmation"
    SEND_ADDRESS_NOTICE = "send_address_notice"
    MATCH_JOIN_REQUEST = "match_join_request"
    SEND_JOIN_CONFIRMATION = "send_join_confirmation"
    DISPATCH_CAMPAIGN = "dispatch_campaign"
    SEND_CAMPAIGN_BATCH = "send_campaign_batch"
    ERASE_ALUMNUS = "erase_alumnus"
    SEND_RECEIPT = "send_receipt"
    SEND_LAST_RECEIPT = "send_last_receipt"
    SEND_STAFF_INVITATION = "send_staff_invitation"
    SEND_PASSWORD_RESET = "send_password_reset"
    SEND_STAFF_NOTICE = "send_staff_notice"


# The scheduler's tick finds these in the database and does them itself when their message is
# lost: a broker that cannot take one (Redis down) must not fail the request that committed it.
SWEPT_BY_TICK = frozenset({Job.ERASE_ALUMNUS, Job.SEND_RECEIPT, Job.SEND_LAST_RECEIPT})


def enqueue_after_commit(job: Job, *args: object) -> None:
    from alumni.extensions import db

    session = db.session()
    if not session.in_transaction():
        # Queued before any statement: begin the transaction the jobs belong to, so that a
        # rollback ends them too (a session with no transaction ignores a rollback).
        session.begin()
    session.info.setdefault(_PENDING, []).append((job, args))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if pending:
        runtime = current_app.extensions["dramatiq"]
        for job, args in pending:
            try:
                runtime.enqueue(str(job), *args)
            except Exception as error:  # any broker failure
                if job not in SWEPT_BY_TICK:
                    raise
                log.warning(
                    "%s%s not queued (%s): the tick does it", job, args, type(error).__name__
                )


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    # Also a rollback before any statement ran ("after_rollback" fires only when the
    # database rolled back): the jobs must not leave with the next commit.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
