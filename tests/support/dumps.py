"""Everything we store, as text to search: a full database dump and a Redis keyspace; and every
row of every table, to compare before and after."""

from __future__ import annotations

import sqlite3
import subprocess
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa

from alumni.extensions import db


def database_dump(database_url: str) -> str:
    """``pg_dump`` of the whole database on PostgreSQL; SQLite's own full dump (iterdump)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    parts = urlsplit(database_url)
    command = [
        "pg_dump", "--no-owner",
        "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
        "-U", parts.username or "postgres", parts.path.lstrip("/"),
    ]  # fmt: skip
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def redis_dump(url: str) -> str:
    """Every key of the Redis database with its value, one line per key (or member)."""
    client = redis.Redis.from_url(url)
    lines = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        name = key.decode(errors="replace")
        if kind == "string":
            values = [client.get(key)]
        elif kind == "hash":
            values = [k + b" " + v for k, v in client.hgetall(key).items()]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = [kind.encode()]
        lines += [f"{name} {(value or b'').decode(errors='replace')}" for value in values]
        lines.append(name)
    return "\n".join(lines)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    db.session.expire_all()
    dump = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).all()
        dump[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return dump
