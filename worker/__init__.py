"""Background work with dramatiq: broker setup here, actors in ``worker.tasks``.

``init_app`` gives the app its broker and binds every actor to it; the app reaches it as
``app.extensions["dramatiq"]`` (a ``Runtime``). With ``REDIS_URL`` unset the broker is an
in-process queue whose worker threads start the first time work is queued.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.brokers.stub import StubBroker
from flask import Flask

from worker.broker import InProcessWorker, Runtime, make_broker

# `dramatiq worker.tasks` imports the actors before any app exists: they wait on this broker
# until `init_app` binds them to the real one.
dramatiq.set_broker(StubBroker())
_bound = False


def is_bound() -> bool:
    return _bound


def init_app(app: Flask) -> None:
    global _bound
    _bound = True
    from worker import tasks  # noqa: F401  (declares the actors)

    broker = make_broker(app)
    previous = dramatiq.get_broker()
    for name in list(previous.actors):
        actor = previous.get_actor(name)
        actor.broker = broker
        broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    in_process = InProcessWorker(broker) if isinstance(broker, StubBroker) else None
    app.extensions["dramatiq"] = Runtime(broker, in_process)
    if in_process is not None and not app.testing:
        _start_scheduler_with_first_request(app)


def _start_scheduler_with_first_request(app: Flask) -> None:
    """Embedded mode: the web process is also the scheduler. Commands serve no request, so
    they never start it."""
    from worker import scheduler

    lock = threading.Lock()
    started: list[threading.Event] = []

    @app.before_request
    def _start_scheduler() -> None:
        if started:
            return
        with lock:
            if not started:
                started.append(scheduler.start_in_background(app))
