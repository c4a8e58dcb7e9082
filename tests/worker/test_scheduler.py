"""The scheduler's loop: the campaign tick and the flush of opens, each on its own."""

from __future__ import annotations

import threading

from alumni.campaigns import sending
from worker import scheduler


class Rounds(threading.Event):
    """A stop event that is set after a number of rounds, without waiting."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.left = rounds

    def wait(self, timeout: float | None = None) -> bool:
        self.left -= 1
        if self.left <= 0:
            self.set()
        return self.is_set()


def test_each_round_ticks_and_flushes_even_when_the_tick_fails(app, monkeypatch, caplog):
    done: list[str] = []

    def failing_tick() -> None:
        done.append("tick")
        raise RuntimeError("the database went away")

    monkeypatch.setattr(sending, "tick", failing_tick)
    monkeypatch.setattr(app.extensions["opens"], "flush", lambda now=None: done.append("flush"))
    scheduler.run(app, Rounds(2))
    assert done == ["tick", "flush", "tick", "flush"]
    assert "tick failed: RuntimeError" in caplog.text


def test_the_bounce_mailbox_step_commits_what_each_message_recorded(app, dovecot):
    """A real mailbox behind the step: each message's records are committed before it leaves
    the mailbox; a message whose records fail is rolled back and stays."""
    from sqlalchemy import select

    from alumni import audit
    from alumni.extensions import db
    from alumni.models import AuditEntry

    app.config |= {"BOUNCE_MAILBOX_URL": dovecot.url("imap"), "BOUNCE_POLL_SECONDS": 0}
    dovecot.deliver(b"Subject: one\r\n\r\nfirst\r\n", b"Subject: two\r\n\r\nbroken\r\n")
    got: list[bytes] = []

    def record(raw: bytes) -> None:
        got.append(raw)
        audit.record("bounce.test", size=len(raw))
        if b"broken" in raw:
            raise RuntimeError("cannot be stored")

    step = scheduler.bounce_mailbox_step(record)
    assert step.__name__ == "poll_bounce_mailbox"  # the tick logs a failing step by its name
    with app.app_context():
        step()
        db.session.remove()
        assert len(db.session.scalars(select(AuditEntry)).all()) == 1
    assert got == [b"Subject: one\r\n\r\nfirst\r\n", b"Subject: two\r\n\r\nbroken\r\n"]
    assert dovecot.messages() == [b"Subject: two\r\n\r\nbroken\r\n"]
