"""The production shape: invitations queued on Redis and sent by a separate
`dramatiq worker.tasks` process, configured from the environment like an operator does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus
from tests.conftest import REDIS_URL, TEST_KEYS, require
from tests.factories import make_alumnus

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = f"alumni-test-{uuid.uuid4().hex[:8]}"


def redis_available() -> tuple[bool, str]:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        return True, ""
    except redis.RedisError as error:
        return False, f"{REDIS_URL}: {type(error).__name__}"


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
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PYTEST")},
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "DRAMATIQ_NAMESPACE": NAMESPACE,
        "SMTP_URL": smtp_server.url,
        "BASE_URL": app.config["BASE_URL"],
        "SECRET_KEY": TEST_KEYS["SECRET_KEY"],
        "SUPPRESSION_KEY": TEST_KEYS["SUPPRESSION_KEY"],
        "PSEUDONYM_KEY": TEST_KEYS["PSEUDONYM_KEY"],
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "worker.tasks", "--processes", "1", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{NAMESPACE}*"):
        client.delete(key)


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.redis
def test_a_separate_worker_sends_the_invitations_from_redis(
    app, runner, smtp_server, worker_process
):
    people = [make_alumnus(status=AlumnusStatus.IMPORTED) for _ in range(5)]
    result = runner.invoke(args=["invite"])
    assert result.exit_code == 0, result.output
    assert app.extensions["dramatiq"].in_process is None  # nothing ran in this process

    assert wait_for(lambda: len(smtp_server.messages) >= 5), "the worker sent nothing"
    time.sleep(0.5)  # anything extra would show now
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(p.email for p in people)
    db.session.expire_all()
    unsent = db.session.scalar(
        sa.select(sa.func.count()).select_from(Alumnus).where(Alumnus.invitation_sent_at.is_(None))
    )
    assert unsent == 0
    assert worker_process.poll() is None  # still running
