"""Column types and the small state-machine helper shared by the models, and ``among``: a
column among many values in one query parameter, for the domain's look-ups."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from alumni.extensions import db

# The school's time: what staff type and read. The database keeps UTC.
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps no offset)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def enum_column(enum: type[StrEnum], **kwargs: object) -> sa.Enum:
    """Store an enum by its value as a checked string, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        **kwargs,
    )


class InvalidTransition(Exception):
    """A state change that the state machine does not allow."""


def check_transition(
    current: StrEnum, target: StrEnum, allowed: dict[StrEnum, set[StrEnum]]
) -> None:
    if target not in allowed.get(current, set()):
        raise InvalidTransition(f"{type(current).__name__}: {current} -> {target} is not allowed")


def among(
    column: sa.ColumnElement[Any], values: Collection[str] | Collection[int]
) -> sa.ColumnElement[bool]:
    """``column IN (values)`` with the values in one parameter instead of one each: an array
    on PostgreSQL (which plans thousands of parameters slowly, and whose driver converts a
    statement of more than 50 parameters anew each time), a JSON array on SQLite (where
    expanding thousands of parameters cost more than the look-up). Strings or integers."""
    if db.session.get_bind().dialect.name == "postgresql":
        element = sa.Integer() if isinstance(column.type, sa.Integer) else sa.String()
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(element)))
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.String))
    return column.in_(sa.select(sa.column("value")).select_from(listed))
