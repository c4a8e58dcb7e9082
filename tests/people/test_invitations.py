"""Inviting graduates: queued after commit, sent once, and nothing lost when SMTP is down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alumni.consent.suppression import suppress_address
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.extensions import db
from alumni.mail import TemporaryFailure
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Bounce,
    BounceKind,
    BounceSource,
    Suppression,
    SuppressionReason,
    utcnow,
)
from alumni.people import invitations
from tests.conftest import finish_jobs, free_port
from tests.support.factories import make_alumnus


def test_invite_queues_each_graduate_once(app, outbox):
    first = make_alumnus(status=AlumnusStatus.IMPORTED, graduation_year=2021)
    second = make_alumnus(status=AlumnusStatus.IMPORTED, graduation_year=2022)
    assert invitations.invite_graduates(cohort=2021) == [first.id]
    finish_jobs(app)
    assert invitations.invite_graduates() == [second.id]
    finish_jobs(app)
    assert invitations.invite_graduates() == []
    assert sorted(m["To"] for m in outbox) == sorted([first.email, second.email])
    db.session.expire_all()
    assert first.status is AlumnusStatus.INVITED and first.invitation_sent_at is not None


def test_delivering_twice_sends_once(app, outbox):
    alumnus = make_alumnus(status=AlumnusStatus.INVITED)
    assert invitations.deliver_invitation(alumnus.id) == "sent"
    assert invitations.deliver_invitation(alumnus.id) == "already-sent"
    assert len(outbox) == 1


def test_a_suppressed_address_gets_no_invitation(app, outbox):
    alumnus = make_alumnus(status=AlumnusStatus.INVITED)
    suppress_address(alumnus.email, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    assert invitations.deliver_invitation(alumnus.id) == "suppressed"
    assert outbox == []


def test_an_unreachable_server_loses_nothing(app, monkeypatch):
    alumnus = make_alumnus(status=AlumnusStatus.INVITED)

    def unreachable(email):
        raise TemporaryFailure("SMTP server unreachable")

    monkeypatch.setattr(invitations.mail, "send", unreachable)
    with pytest.raises(TemporaryFailure):
        invitations.deliver_invitation(alumnus.id)
    db.session.expire_all()
    assert alumnus.invitation_sent_at is None  # the claim is released for the retry


@pytest.mark.parametrize("code, undeliverable", [(550, True), (553, True), (554, False)])
def test_a_refused_address_is_marked_undeliverable_not_suppressed(
    app, monkeypatch, code, undeliverable
):
    """During the SMTP conversation as when a bounce comes back later: 550, 551 and 553 blame
    the address (alumni.bounces.marks), other refusals do not; neither suppresses it."""
    from alumni.mail import PermanentFailure

    alumnus = make_alumnus(status=AlumnusStatus.INVITED)

    def bounce(email):
        raise PermanentFailure(f"SMTP {code}", code=code)

    monkeypatch.setattr(invitations.mail, "send", bounce)
    assert invitations.deliver_invitation(alumnus.id) == "bounced"
    db.session.expire_all()
    assert (alumnus.undeliverable_at is not None) is undeliverable
    bounces = db.session.execute(sa.select(Bounce.kind, Bounce.source, Bounce.status)).all()
    assert bounces == ([(BounceKind.HARD, BounceSource.SMTP, str(code))] if undeliverable else [])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
    assert invitations.deliver_invitation(alumnus.id) == "already-sent"


def test_no_invitation_or_fresh_link_to_an_undeliverable_address(app, outbox):
    alumnus = make_alumnus(status=AlumnusStatus.INVITED, undeliverable_at=utcnow())
    assert invitations.deliver_invitation(alumnus.id) == "undeliverable"
    assert invitations.deliver_fresh_link(alumnus.id) == "undeliverable"
    assert outbox == []


def test_jobs_leave_only_after_commit(app, outbox):
    alumnus = make_alumnus(status=AlumnusStatus.INVITED)
    enqueue_after_commit(Job.SEND_INVITATION, alumnus.id)
    db.session.rollback()
    finish_jobs(app)
    assert outbox == []
    enqueue_after_commit(Job.SEND_INVITATION, alumnus.id)
    db.session.commit()
    finish_jobs(app)
    assert len(outbox) == 1


def test_every_job_has_an_actor(app):
    broker = app.extensions["dramatiq"].broker
    assert {str(job) for job in Job} <= set(broker.actors)


@pytest.fixture
def config_overrides(request):
    if "unreachable_smtp" in request.fixturenames:
        return {
            "MAIL_BACKEND": None,
            "SMTP_URL": request.getfixturevalue("unreachable_smtp"),
            "SMTP_TIMEOUT": 1,
            "RETRY_GRACE_SECONDS": 2,
        }
    return {}


@pytest.fixture
def unreachable_smtp():
    return f"smtp://127.0.0.1:{free_port()}"


def test_invite_with_smtp_down_says_so_and_a_later_run_sends(
    app, runner, unreachable_smtp, smtp_server
):
    people = [make_alumnus(status=AlumnusStatus.IMPORTED) for _ in range(3)]
    result = runner.invoke(args=["invite"])
    assert result.exit_code == 2, result.output
    assert ": 0" in result.output and ": 3" in result.output
    db.session.expire_all()
    assert all(p.invitation_sent_at is None for p in people)

    # The server is back (a new one on another port): invite again sends all three, once.
    app.config["SMTP_URL"] = smtp_server.url
    from alumni import mail

    mail.init_app(app)
    result = runner.invoke(args=["invite"])
    assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(p.email for p in people)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Alumnus)
            .where(Alumnus.invitation_sent_at.is_(None))
        )
        == 0
    )
