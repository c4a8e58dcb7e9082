"""I6 helpers: people whose personal values are unmistakable, and scans for those values in
every place we store data: every column of every table, log output, queued messages, the
erasure ledger."""

from __future__ import annotations

import json
import logging
import random
import string
from datetime import date
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask

from alumni.core.pseudonyms import student_key
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, Gender
from tests.conftest import REDIS_URL
from tests.support.factories import make_alumnus

# Letters that are not hexadecimal: a tag can never turn up inside a keyed hash by chance.
TAG_LETTERS = "ghijklmnopqrstuvwxyz"


def distinctive_alumnus(status: AlumnusStatus = AlumnusStatus.INVITED, **fields: Any) -> Alumnus:
    """A person every one of whose text values is found nowhere else."""
    rng = random.Random()
    tag = "".join(rng.choices(TAG_LETTERS, k=10))
    digits = "".join(rng.choices(string.digits, k=7))
    born = date(1980 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28))
    values: dict[str, Any] = {
        "student_key": student_key(f"T{tag}"),
        "first_name": f"Wilhelmina{tag.title()}",
        "last_name": f"Zwaluwstaart{tag.title()}",
        "preferred_name": f"Mien{tag.title()}",
        "programme": f"Opleiding {tag.title()}",
        "phone": f"+3161{digits}",  # a Dutch mobile number (06-1...)
        "email": f"{tag}@alumni.example",
        "gender": Gender.FEMALE,
        "date_of_birth": born,
        "graduation_year": 2019,
    }
    return make_alumnus(status, **{**values, **fields})


def personal_values(alumnus: Alumnus) -> list[str]:
    """What a scan looks for: each personal text value of the person, lower case."""
    values = [
        alumnus.first_name,
        alumnus.last_name,
        alumnus.preferred_name,
        alumnus.programme,
        alumnus.email,
        alumnus.phone,
        alumnus.phone and alumnus.phone.lstrip("+"),
        alumnus.date_of_birth and alumnus.date_of_birth.isoformat(),
    ]
    return [value.lower() for value in values if value]


def found_in(text: str, values: list[str]) -> list[str]:
    lowered = text.lower()
    return [value for value in values if value in lowered]


def scan_database(values: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for every personal value found in any column of any table in
    the database, as it is now (tables reflected, not only the models')."""
    db.session.commit()  # read what is committed, as anyone else would
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    hits = []
    with db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                for column, cell in row.items():
                    if cell is not None:
                        text = (
                            json.dumps(cell, default=str)
                            if isinstance(cell, dict | list)
                            else str(cell)
                        )
                        hits += [(table.name, column, value) for value in found_in(text, values)]
    return hits


def _as_text(cell: object) -> str:
    if cell is None:
        return ""
    return json.dumps(cell, default=str) if isinstance(cell, dict | list) else str(cell)


def scan_in_process_queue(app: Flask, values: list[str]) -> list[str]:
    """Messages waiting in the in-process broker, its delayed and dead-letter queues."""
    broker = app.extensions["dramatiq"].broker
    messages: list[bytes] = []
    for queue in getattr(broker, "queues", {}).values():
        messages += [bytes(m) if not isinstance(m, bytes) else m for m in list(queue.queue)]
    for dead in getattr(broker, "dead_letters_by_queue", {}).values():
        messages += [message.encode() for message in dead]
    return found_in(b"\n".join(messages).decode(errors="replace"), values)


def scan_redis(namespace: str, values: list[str]) -> tuple[int, list[tuple[str, str]]]:
    """(number of keys read, hits) over every key of the namespace, whatever its type."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{namespace}*"))
    hits = []
    for key in keys:
        kind = client.type(key).decode()
        if kind == "string":
            parts = [client.get(key)]
        elif kind == "list":
            parts = client.lrange(key, 0, -1)
        elif kind == "hash":
            parts = [part for pair in client.hgetall(key).items() for part in pair]
        elif kind == "set":
            parts = list(client.smembers(key))
        elif kind == "zset":
            parts = client.zrange(key, 0, -1)
        else:
            parts = []
        text = b"\n".join([key, *(p or b"" for p in parts)]).decode(errors="replace")
        hits += [(key.decode(), value) for value in found_in(text, values)]
    return len(keys), hits


def scan_log(records: list[logging.LogRecord], values: list[str]) -> list[str]:
    """Log lines (formatted, arguments included) that hold a personal value."""
    return [r.getMessage() for r in records if found_in(r.getMessage(), values)]


def scan_file(path: str | Path, values: list[str]) -> list[str]:
    path = Path(path)
    return found_in(path.read_text(errors="replace"), values) if path.exists() else []
