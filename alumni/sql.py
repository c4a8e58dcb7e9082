"""Small SQL helpers shared by the domain modules."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alumni.extensions import db


def among(column: sa.ColumnElement[Any], values: Collection[str]) -> sa.ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL one array parameter instead of thousands, which
    keeps large look-ups fast (PostgreSQL plans thousands of parameters slowly)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String))
        )
    return column.in_(list(values))
