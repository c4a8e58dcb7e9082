"""The in-process worker of the embedded mode: waiting for queued work always ends."""

from __future__ import annotations

import threading

from alumni.extensions import db
from alumni.models import AlumnusStatus
from alumni.people.invitations import invite_graduates
from tests.support.factories import make_alumnus


def test_a_message_dropped_with_the_worker_does_not_hold_the_next_wait(app, outbox):
    """Stopping the worker drops what its consumers had taken (dramatiq's stub broker gives
    nothing back); the queue must not count that as work still to do, or the next wait for
    the queue never ends (it hung `flask invite` after a run with the mail server down)."""
    runtime = app.extensions["dramatiq"]
    in_process = runtime.in_process
    queue = in_process.broker.queues["default"]

    class DroppingWorker:
        def stop(self) -> None:
            queue.put(b"taken by a consumer, then dropped")
            queue.get()

    in_process._worker = DroppingWorker()
    in_process.stop()
    assert queue.unfinished_tasks == 0

    person = make_alumnus(status=AlumnusStatus.IMPORTED)
    invite_graduates(None)
    db.session.commit()
    waiting = threading.Thread(target=runtime.finish_queued_work, daemon=True)
    waiting.start()
    waiting.join(30)
    assert not waiting.is_alive(), "the wait for the queue did not end"
    assert [m["To"] for m in outbox] == [person.email]
