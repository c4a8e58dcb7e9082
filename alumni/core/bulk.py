"""Look-ups of many values at once: a column among a list of strings or integers."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alumni.extensions import db


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
