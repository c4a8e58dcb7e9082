"""Jobs leave after the commit, never before it, and not at all after a rollback."""

from __future__ import annotations

from alumni.core.jobs import Job, enqueue_after_commit
from alumni.extensions import db


def test_a_job_leaves_with_the_commit_and_not_with_a_rollback(app, monkeypatch):
    sent: list[tuple[str, tuple]] = []
    runtime = app.extensions["dramatiq"]
    monkeypatch.setattr(runtime, "enqueue", lambda name, *args: sent.append((name, args)))
    enqueue_after_commit(Job.SEND_FRESH_LINK, 1)
    assert sent == []  # nothing before the commit: a worker would not find the row
    db.session.commit()
    assert sent == [("send_fresh_link", (1,))]
    enqueue_after_commit(Job.SEND_FRESH_LINK, 2)
    db.session.rollback()
    db.session.commit()
    assert sent == [("send_fresh_link", (1,))]


def test_a_broker_that_is_down_fails_the_commit_except_for_jobs_the_tick_does(app, monkeypatch):
    def down(name, *args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(app.extensions["dramatiq"], "enqueue", down)
    enqueue_after_commit(Job.ERASE_ALUMNUS, 7)
    db.session.commit()  # the erasure request is in the database: the tick does it
    enqueue_after_commit(Job.SEND_FRESH_LINK, 7)
    try:
        db.session.commit()
    except ConnectionError:
        pass
    else:
        raise AssertionError("a lost fresh-link job must not pass silently")
