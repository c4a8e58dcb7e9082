"""Real dramatiq worker processes for the tests that need the production shape."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
from flask import current_app
from gunicorn import version_info as gunicorn_version

from tests.conftest import REDIS_URL, TEST_KEYS
from tests.support.paths import ROOT


def redis_available() -> tuple[bool, str]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        return True, ""
    except redis.RedisError as error:
        return False, f"{REDIS_URL}: {type(error).__name__}"


def worker_environment(database_url: str, namespace: str, smtp_url: str, **extra: object) -> dict:
    """The worker's settings: the test's database, queue, relay and keys, and the test app's
    own erasure ledger (a worker left to the default would write to instance/). ``extra``
    takes settings as the app's config does; they become environment strings here."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("PYTEST")},
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "DRAMATIQ_NAMESPACE": namespace,
        "SMTP_URL": smtp_url,
        "BASE_URL": "http://alumni.test",
        "SECRET_KEY": TEST_KEYS["SECRET_KEY"],
        "SUPPRESSION_KEY": TEST_KEYS["SUPPRESSION_KEY"],
        "PSEUDONYM_KEY": TEST_KEYS["PSEUDONYM_KEY"],
        "ERASURE_LEDGER_PATH": current_app.config["ERASURE_LEDGER_PATH"],
        **{key: str(value) for key, value in extra.items()},
    }


def start_worker(env: dict, log: Path, processes: int = 1, threads: int = 2) -> subprocess.Popen:
    """`dramatiq worker.tasks` in a session of its own, so it can be killed as a group."""
    command = [
        sys.executable, "-m", "dramatiq", "worker.tasks",
        "--processes", str(processes), "--threads", str(threads),
    ]  # fmt: skip
    return start(command, env, log)


def start_web(env: dict, log: Path, port: int) -> subprocess.Popen:
    """The web process as in production: gunicorn with ``gunicorn.conf.py`` (two workers)."""
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    if gunicorn_version >= (25, 1):  # its control socket in $HOME is shared by every run
        command.insert(-1, "--no-control-socket")
    web = {"GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"}
    return start(command, {**env, **web}, log)


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A process in a session of its own (killed as a group), its output appended to ``log``."""
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_hard(process: subprocess.Popen) -> None:
    """kill -9 the worker and its children: no cleanup, no acknowledgements."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_hard(process)


def clear_namespace(namespace: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
