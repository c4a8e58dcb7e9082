"""Broker setup: Redis in production, an in-process queue and worker in the embedded default."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import QueueJoinTimeout
from flask import Flask

QUEUES = ("default",)


class AppContext(dramatiq.Middleware):
    """Run every message inside an app context, so actors use the app's database session."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        context = self.app.app_context()
        context.push()
        self._local.context = context

    def after_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.Message, **kwargs: Any
    ) -> None:
        context = getattr(self._local, "context", None)
        if context is not None:
            self._local.context = None
            context.pop()

    after_skip_message = after_process_message


def make_broker(app: Flask) -> dramatiq.Broker:
    """The Redis broker when ``REDIS_URL`` is set, otherwise an in-process queue."""
    url = app.config["REDIS_URL"]
    broker: dramatiq.Broker
    if url:
        broker = RedisBroker(url=url, namespace=app.config["DRAMATIQ_NAMESPACE"])
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(AppContext(app))
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


class InProcessWorker:
    """A dramatiq worker on threads of this process, started the first time work is queued."""

    def __init__(self, broker: StubBroker, threads: int = 4) -> None:
        self.broker = broker
        self.threads = threads
        self._worker: dramatiq.Worker | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = dramatiq.Worker(
                    self.broker, worker_threads=self.threads, worker_timeout=100
                )
                self._worker.start()

    def drain(self, retry_grace_ms: int = 15_000) -> bool:
        """Wait until every queued message had its first try, and its retries for a short
        while; returns False when retries were still waiting (they are dropped with the
        worker, so the work they stood for must be safe to queue again)."""
        if self._worker is None:
            return True
        done = True
        for queue in self.broker.get_declared_queues():
            if queue.endswith((".DQ", ".XQ")):
                continue
            self.broker.queues[queue].join()
            try:
                self.broker.join(queue, timeout=retry_grace_ms, fail_fast=False)
            except QueueJoinTimeout:
                done = False
        if done:
            self._worker.join()
        else:
            self.stop()
        return done

    def stop(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None
                self._forget_dropped()

    def _forget_dropped(self) -> None:
        """The stub broker's consumers give nothing back when the worker stops: a message
        taken off a queue, or held for a later retry, is dropped, and its queue would count it
        as unfinished for ever, so that the next ``drain`` waited without end. Count only what
        the queues still hold."""
        for queue in self.broker.queues.values():
            with queue.all_tasks_done:  # the queue's lock: qsize() would take it again
                queue.unfinished_tasks = len(queue.queue)
                if not queue.unfinished_tasks:
                    queue.all_tasks_done.notify_all()


class Runtime:
    """What the app keeps of dramatiq: its broker and, in embedded mode, the in-process worker."""

    def __init__(self, broker: dramatiq.Broker, in_process: InProcessWorker | None) -> None:
        self.broker = broker
        self.in_process = in_process

    def enqueue(self, actor_name: str, *args: Any) -> None:
        """Send a message now; only call it once the data it refers to is committed."""
        if self.in_process is not None:
            self.in_process.ensure_started()
        self.broker.get_actor(actor_name).send(*args)

    def finish_queued_work(self, retry_grace_ms: int = 15_000) -> bool:
        """With the in-process queue, block until the work queued so far is done (see
        ``InProcessWorker.drain``); with Redis, the workers do it and this returns at once."""
        if self.in_process is None:
            return True
        return self.in_process.drain(retry_grace_ms)

    def stop(self) -> None:
        if self.in_process is not None:
            self.in_process.stop()

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting per queue, delayed retries included."""
        depths = {}
        for queue in QUEUES:
            if isinstance(self.broker, StubBroker):
                depths[queue] = sum(
                    self.broker.queues[name].qsize()
                    for name in (queue, f"{queue}.DQ")
                    if name in self.broker.queues
                )
            else:
                client = self.broker.client
                namespace = self.broker.namespace
                depths[queue] = sum(
                    client.llen(f"{namespace}:{name}") for name in (queue, f"{queue}.DQ")
                )
        return depths
