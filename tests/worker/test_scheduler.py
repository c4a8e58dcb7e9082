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
