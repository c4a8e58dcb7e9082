"""The production shape: invitations queued on Redis and sent by a separate
`dramatiq worker.tasks` process, configured from the environment like an operator does."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus
from tests.conftest import REDIS_URL, require
from tests.support.factories import make_alumnus
from tests.support.workers import (
    clear_namespace,
    redis_available,
    start_worker,
    stop,
    wait_for,
    worker_environment,
)

NAMESPACE = f"alumni-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def config_overrides(smtp_server):
    require("Redis", *redis_available())
    return {
        "REDIS_URL": REDIS_URL,
        "DRAMATIQ_NAMESPACE": NAMESPACE,
        "MAIL_BACKEND": None,
        "SMTP_URL": smtp_server.url,
    }


@pytest.fixture
def worker_process(app, database_url, smtp_server, tmp_path):
    """`dramatiq worker.tasks` in its own process, sharing the test's database and Redis."""
    process = start_worker(
        worker_environment(database_url, NAMESPACE, smtp_server.url), tmp_path / "worker.log"
    )
    yield process
    stop(process)
    clear_namespace(NAMESPACE)


@pytest.mark.redis
def test_a_separate_worker_sends_the_invitations_from_redis(
    app, runner, smtp_server, worker_process
):
    people = [make_alumnus(status=AlumnusStatus.IMPORTED) for _ in range(5)]
    result = runner.invoke(args=["invite"])
    assert result.exit_code == 0, result.output
    assert app.extensions["dramatiq"].in_process is None  # nothing ran in this process

    assert wait_for(lambda: len(smtp_server.messages) >= 5, timeout=30), "the worker sent nothing"
    time.sleep(0.5)  # anything extra would show now
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(p.email for p in people)
    db.session.expire_all()
    unsent = db.session.scalar(
        sa.select(sa.func.count()).select_from(Alumnus).where(Alumnus.invitation_sent_at.is_(None))
    )
    assert unsent == 0
    assert worker_process.poll() is None  # still running
