"""Column types and the small state-machine helper shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

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
