"""Guessing staff passwords: limits per account and client address, a ceiling per account that
a known browser is not held to, shared through Redis: nobody can lock the real user out."""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest
import redis
import sqlalchemy as sa

from alumni import create_app
from alumni.accounts.staff import typed_email_key
from alumni.extensions import db
from alumni.models import AuditEntry
from tests.conftest import REDIS_URL, base_config, require
from tests.support.factories import STAFF_PASSWORD, make_staff
from tests.support.staff import StaffAuth, open_browser
from tests.support.workers import redis_available

OFFICER = "officer@school.example"
WRONG = "not the right password"
HOME = "203.0.113.9"


class Clock:
    """Moves the rate limiter's clock (memory storage) forward without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def limiter_clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("limits.storage.memory.time", clock)
    return clock


@pytest.fixture
def person(app):
    """A new browser each time: its own cookies, no earlier login."""
    return lambda: StaffAuth(open_browser(app))


def login_audit() -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == "staff.login")
    return db.session.scalars(query.order_by(AuditEntry.id)).all()


def test_guessing_from_many_addresses_does_not_lock_the_real_user_out(app, person):
    make_staff("officer", email=OFFICER)
    attacker = person()
    for n in range(1, 11):
        statuses = [
            attacker.login(OFFICER, WRONG, address=f"192.0.2.{n}").status_code for _ in range(6)
        ]
        assert statuses == [400] * 5 + [429]  # every address is stopped after five
    # Fifty wrong passwords later, the officer logs in from her own address, in a new browser.
    officer = person()
    assert officer.login(OFFICER, address=HOME).status_code == 303
    assert officer.client.get("/staff/").status_code == 200


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT": "1000 per hour"}])
def test_failures_are_limited_per_account_and_address(app, person, limiter_clock):
    make_staff("officer", email=OFFICER)
    make_staff("officer", email="colleague@school.example")
    guesser = person()
    assert [guesser.login(OFFICER, WRONG).status_code for _ in range(5)] == [400] * 5
    assert guesser.login(OFFICER).status_code == 429  # from this address, even the right one
    assert person().login(OFFICER, address=HOME).status_code == 303  # from another address
    assert person().login("colleague@school.example").status_code == 303  # another account

    limiter_clock.offset = 15 * 60 + 1  # the quarter of an hour has passed
    assert guesser.login(OFFICER).status_code == 303


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT_PER_ACCOUNT": "10 per hour"}])
def test_the_ceiling_per_account_holds_except_for_a_known_browser(app, person):
    officer = make_staff("officer", email=OFFICER)
    make_staff("officer", email="colleague@school.example")
    own_browser = person()
    assert own_browser.login(OFFICER, address=HOME).status_code == 303  # yesterday
    own_browser.logout()
    colleague_browser = person()
    assert colleague_browser.login("colleague@school.example", address=HOME).status_code == 303
    colleague_browser.logout()

    attacker = person()
    for n in range(1, 11):
        assert attacker.login(OFFICER, WRONG, address=f"192.0.2.{n}").status_code == 400
    # The ceiling: from a fresh address, even the right password, and from a browser that
    # knows another account.
    assert attacker.login(OFFICER, address="198.51.100.1").status_code == 429
    assert person().login(OFFICER, address=HOME).status_code == 429
    assert colleague_browser.login(OFFICER, address=HOME).status_code == 429
    # The officer's own browser is not held to it.
    assert own_browser.login(OFFICER, address=HOME).status_code == 303
    # Other accounts are not touched.
    assert person().login("colleague@school.example", address="192.0.2.1").status_code == 303

    refused = [entry for entry in login_audit() if entry.details.get("reason") == "rate-limited"]
    assert len(refused) == 3
    assert {entry.actor for entry in refused} == {f"staff:{officer.id}"}
    logged = json.dumps([entry.details for entry in login_audit()])
    assert WRONG not in logged and STAFF_PASSWORD not in logged


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT_PER_ACCOUNT": "3 per hour"}])
def test_a_forged_known_browser_cookie_is_not_trusted(app, person):
    make_staff("officer", email=OFFICER)
    attacker = person()
    attacker.client.set_cookie("__Host-alumni-known", "forged.value.here", path="/")
    for n in range(1, 4):
        assert attacker.login(OFFICER, WRONG, address=f"192.0.2.{n}").status_code == 400
    assert attacker.login(OFFICER, WRONG, address="192.0.2.99").status_code == 429


# -- shared through Redis ---------------------------------------------------------------------


@pytest.fixture
def instances(database_url, tmp_path):
    """More apps on the test's database, as more web processes would be; stopped at the end."""
    made = []

    def instance(**config):
        folder = tmp_path / f"instance-{len(made)}"
        folder.mkdir()
        made.append(
            create_app(base_config(folder, database_url, **config), instance_path=str(folder))
        )
        return made[-1]

    yield instance
    for other in made:
        with other.app_context():
            other.extensions["dramatiq"].stop()
            other.extensions["mail"].close_all()
            db.session.remove()
            db.engine.dispose()


@pytest.mark.redis
def test_two_app_instances_share_the_counts_through_redis(app, instances):
    """Two web processes (here two apps, each limiter with a storage of its own) count the same
    failures: the limits hold behind a load balancer."""
    require("Redis", *redis_available())
    # Names and addresses of this run only: Redis outlives the test.
    email = f"officer-{uuid.uuid4().hex[:8]}@school.example"
    address, home = (f"10.{random.randrange(256)}.{random.randrange(256)}.{n}" for n in (1, 2))
    account = typed_email_key(email)
    config = {"RATELIMIT_STORAGE_URI": REDIS_URL, "LOGIN_RATE_LIMIT": "1000 per hour"}
    make_staff("officer", email=email)
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        first = instances(**config)
        guesser = StaffAuth(open_browser(first))
        statuses = [guesser.login(email, WRONG, address=address).status_code for _ in range(5)]
        assert statuses == [400] * 5
        assert connection.keys(f"*{account}*")  # the counts are in Redis

        second = instances(**config)  # a new storage: it knows only what Redis knows
        assert StaffAuth(open_browser(second)).login(email, address=address).status_code == 429
        assert StaffAuth(open_browser(second)).login(email, address=home).status_code == 303
    finally:
        for pattern in (f"*{account}*", f"*/{address}/*", f"*/{home}/*"):
            for key in connection.scan_iter(pattern):
                connection.delete(key)
        connection.close()
