"""Counting opens: straight into the database, or into Redis and flushed by the scheduler.

An open adds one to its campaign's count for the hour; the first open of a token also adds
one to the unique count. Whether an open is a token's first is decided in the database, by
inserting the token's digest into ``opened_tokens``: so a token opened again a week later, or
after Redis lost its data, is still not counted as unique twice.

With Redis, a pixel request costs no round trip: each web process adds its opens up in memory
(digests, never tokens) and pushes them every ``PUSH_SECONDS``, and when it exits, in one
command into one hash, ``{namespace}:opens:pending`` (``t|campaign|hour`` -> opens,
``u|campaign|digest`` -> hour of the first open). A web process killed hard loses at most its
last ``PUSH_SECONDS`` of opens. The scheduler's flush renames that hash to a key of its own
(atomic, so two schedulers never take the same opens), writes it to the database, and deletes
it. The flush's id is written in the same transaction (``open_flushes``): a flush whose
scheduler died after the commit is not applied again, one that died before it is applied by a
later flush.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Protocol

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from alumni.extensions import db
from alumni.models import Campaign, OpenCount, OpenedToken, OpenFlush, utcnow

log = logging.getLogger(__name__)

# A flush not finished after this long lost its scheduler: a later flush applies it.
STALE_FLUSH_SECONDS = 300
# Applied flush ids are kept far longer than a flush can be stale, then forgotten.
KEEP_FLUSH_IDS = timedelta(days=1)
ROWS_PER_STATEMENT = 500
# How often a web process pushes the opens it counted to Redis.
PUSH_SECONDS = 0.5
# Fields per push command; and what a web process keeps while Redis does not answer.
FIELDS_PER_PUSH = 5_000
MAX_BUFFERED = 100_000

Hour = datetime
# (campaign id, hour) -> opens; campaign id -> {digest: hour of its first open}
Totals = Mapping[tuple[int, Hour], int]
FirstOpens = Mapping[int, Mapping[str, Hour]]


def hour_of(moment: datetime) -> Hour:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class OpenCounter(Protocol):
    def record(self, campaign_id: int, digest: str, hour: Hour) -> None:
        """Count one open of the token with this digest."""

    def flush(self, now: float | None = None) -> int:
        """Move what was counted into the database; returns how many opens. Commits: a
        flush is applied once (its id is stored in the same transaction as its counts)."""


class DatabaseCounter:
    """No Redis: each open is one short transaction."""

    def record(self, campaign_id: int, digest: str, hour: Hour) -> None:
        store_opens({(campaign_id, hour): 1}, {campaign_id: {digest: hour}})
        db.session.commit()

    def flush(self, now: float | None = None) -> int:
        return 0


# A web process's opens, in one command: KEYS pending; ARGV the number n of totals, n pairs
# (total's field, opens), then pairs (token's field, hour of its first open).
PUSH = """
local n = tonumber(ARGV[1])
for i = 2, 2 * n, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 2 * n + 2, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
"""

# Take the pending hash, if there is one, and note when: KEYS pending, flushing, flushes;
# ARGV time, flush id.
TAKE_PENDING = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1
"""


class RedisCounter:
    def __init__(self, url: str, namespace: str, push_every: float | None = PUSH_SECONDS) -> None:
        """``push_every`` None: no pushing thread, ``push()`` is called by hand (tests)."""
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2)
        self.prefix = f"{namespace}:opens"
        self.pending = f"{self.prefix}:pending"
        self.flushes = f"{self.prefix}:flushes"
        self.push_every = push_every
        self._push = self.redis.register_script(PUSH)
        self._take_pending = self.redis.register_script(TAKE_PENDING)
        self._reset()
        # gunicorn forks its workers: each starts with an empty buffer and a pusher of its own.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        # One push at a time: the push at exit waits for one the pushing thread has begun,
        # which would otherwise die with the process halfway.
        self._push_lock = threading.Lock()
        self._totals: Counter[str] = Counter()
        self._first_opens: dict[str, int] = {}
        self._pushing = False

    def flushing(self, flush_id: str) -> str:
        return f"{self.prefix}:flushing:{flush_id}"

    def record(self, campaign_id: int, digest: str, hour: Hour) -> None:
        epoch_hour = _epoch_hour(hour)
        with self._lock:
            self._totals[f"t|{campaign_id}|{epoch_hour}"] += 1
            self._first_opens.setdefault(f"u|{campaign_id}|{digest}", epoch_hour)
            if not self._pushing and self.push_every is not None:
                self._pushing = True
                threading.Thread(target=self._push_often, name="opens-push", daemon=True).start()
                atexit.register(self.push)

    def _push_often(self) -> None:
        while True:
            time.sleep(self.push_every or PUSH_SECONDS)
            self.push()

    def push(self) -> int:
        """Hand the opens counted in this process to Redis; returns how many. Never raises:
        when Redis does not answer, they are kept for the next push (up to a limit)."""
        with self._push_lock:
            return self._push_now()

    def _push_now(self) -> int:
        with self._lock:
            totals, first_opens = self._totals, self._first_opens
            self._totals, self._first_opens = Counter(), {}
        if not totals:
            return 0
        # Tokens first, the totals with the last part: a push that fails halfway is simply
        # done again (a token's field is only ever set once).
        tokens = list(_pairs(first_opens.items()))
        step = 2 * FIELDS_PER_PUSH
        parts = [tokens[start : start + step] for start in range(0, len(tokens), step)]
        try:
            for part in parts[:-1]:
                self._push(keys=[self.pending], args=[0, *part])
            last = [len(totals), *_pairs(totals.items()), *(parts[-1] if parts else [])]
            self._push(keys=[self.pending], args=last)
        except Exception as error:  # Redis is away: keep them, within reason
            self._keep(totals, first_opens, error)
            return 0
        return sum(totals.values())

    def _keep(self, totals: Counter[str], first_opens: dict[str, int], error: Exception) -> None:
        with self._lock:
            if len(self._first_opens) + len(first_opens) > MAX_BUFFERED:
                log.warning("opens dropped, Redis does not answer: %s", type(error).__name__)
                return
            log.warning("opens not pushed yet, Redis does not answer: %s", type(error).__name__)
            self._totals.update(totals)
            for field, epoch_hour in first_opens.items():
                self._first_opens[field] = min(epoch_hour, self._first_opens.get(field, epoch_hour))

    def flush(self, now: float | None = None) -> int:
        self.push()  # what this process counted itself (tests; the scheduler counts nothing)
        now = time.time() if now is None else now
        flush_id = uuid.uuid4().hex
        taken = self._take_pending(
            keys=[self.pending, self.flushing(flush_id), self.flushes], args=[now, flush_id]
        )
        left_over = [
            member.decode()
            for member in self.redis.zrangebyscore(self.flushes, "-inf", now - STALE_FLUSH_SECONDS)
        ]
        opens = sum(self._apply(one) for one in ([flush_id] if taken else []) + left_over)
        forget_applied_flushes()
        return opens

    def _apply(self, flush_id: str) -> int:
        key = self.flushing(flush_id)
        totals, first_opens = parse_pending(self.redis.hgetall(key))
        try:
            db.session.add(OpenFlush(id=flush_id))
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # applied before, by a scheduler that died after its commit
            applied = 0
        else:
            store_opens(totals, first_opens)
            db.session.commit()
            applied = sum(totals.values())
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.zrem(self.flushes, flush_id)
        pipe.execute()
        return applied


def parse_pending(fields: Mapping[bytes, bytes]) -> tuple[dict, dict]:
    """The pending hash as (totals, first opens)."""
    totals: Counter[tuple[int, Hour]] = Counter()
    first_opens: defaultdict[int, dict[str, Hour]] = defaultdict(dict)
    for name, value in fields.items():
        kind, campaign, rest = name.decode().split("|")
        if kind == "t":
            totals[int(campaign), _from_epoch_hour(int(rest))] += int(value)
        else:
            first_opens[int(campaign)][rest] = _from_epoch_hour(int(value))
    return dict(totals), dict(first_opens)


def store_opens(totals: Totals, first_opens: FirstOpens) -> None:
    """Add opens to the counts; a digest not seen before adds a unique open at its hour.

    Rows go in sorted, so that two flushes at once lock them in the same order.
    """
    campaigns = _existing_campaigns({campaign for campaign, _ in totals} | set(first_opens))
    unique: Counter[tuple[int, Hour]] = Counter()
    for campaign in sorted(campaigns & set(first_opens)):
        hours = first_opens[campaign]
        for digest in _insert_new(campaign, sorted(hours)):
            unique[campaign, hours[digest]] += 1
    keys = sorted(key for key in set(totals) | set(unique) if key[0] in campaigns)
    rows = [
        {
            "campaign_id": campaign,
            "hour": hour,
            "total_opens": totals.get((campaign, hour), 0),
            "unique_opens": unique[campaign, hour],
        }
        for campaign, hour in keys
    ]
    for chunk in _chunks(rows):
        insert = _dialect().insert(OpenCount).values(chunk)
        db.session.execute(
            insert.on_conflict_do_update(
                index_elements=["campaign_id", "hour"],
                set_={
                    "total_opens": OpenCount.total_opens + insert.excluded.total_opens,
                    "unique_opens": OpenCount.unique_opens + insert.excluded.unique_opens,
                },
            )
        )


def forget_applied_flushes() -> None:
    """The scheduler's tick: ids of flushes applied long ago are of no use any more; commits."""
    db.session.execute(sa.delete(OpenFlush).where(OpenFlush.applied_at < utcnow() - KEEP_FLUSH_IDS))
    db.session.commit()


def _insert_new(campaign_id: int, digests: list[str]) -> list[str]:
    """Insert the digests; returns those that were not there yet."""
    new: list[str] = []
    for chunk in _chunks(digests):
        insert = (
            _dialect()
            .insert(OpenedToken)
            .values([{"campaign_id": campaign_id, "digest": digest} for digest in chunk])
        )
        new += db.session.scalars(
            insert.on_conflict_do_nothing().returning(OpenedToken.digest)
        ).all()
    return new


def _existing_campaigns(ids: set[int]) -> set[int]:
    """A campaign deleted meanwhile takes its opens with it (and must not fail the flush)."""
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(Campaign.id).where(Campaign.id.in_(ids))))


def _dialect() -> ModuleType:
    """The dialect whose ``insert`` has ON CONFLICT."""
    return postgresql if db.engine.dialect.name == "postgresql" else sqlite


def _chunks(items: list) -> Iterable[list]:
    for start in range(0, len(items), ROWS_PER_STATEMENT):
        yield items[start : start + ROWS_PER_STATEMENT]


def _pairs(items: Iterable[tuple[str, int]]) -> Iterable[str | int]:
    for field, value in items:
        yield field
        yield value


def _epoch_hour(hour: Hour) -> int:
    return int(hour.timestamp()) // 3600


def _from_epoch_hour(value: int) -> Hour:
    return datetime.fromtimestamp(value * 3600, UTC)


def init_app(app: Flask) -> None:
    counter: OpenCounter
    if app.config["REDIS_URL"]:
        counter = RedisCounter(app.config["REDIS_URL"], app.config["DRAMATIQ_NAMESPACE"])
    else:
        counter = DatabaseCounter()
    app.extensions["opens"] = counter
