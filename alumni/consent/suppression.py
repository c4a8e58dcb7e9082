"""The suppression list: addresses and student numbers we never mail again (I2)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from alumni.core.pseudonyms import email_suppression_key, student_suppression_key
from alumni.extensions import db
from alumni.models import Alumnus, Suppression, SuppressionReason
from alumni.models.base import among


def suppression_keys(email: str | None, student_key: str | None) -> list[str]:
    """The keyed hashes under which a person can be on the list: address and student number."""
    keys = []
    if email:
        keys.append(email_suppression_key(email))
    if student_key:
        keys.append(student_suppression_key(student_key))
    return keys


def keys_for(alumnus: Alumnus) -> list[str]:
    return suppression_keys(alumnus.email, alumnus.student_key)


def suppress(alumnus: Alumnus, reason: SuppressionReason) -> None:
    """Add the person's keyed hashes; a hash already listed keeps its first reason."""
    listed = suppressed_among(keys_for(alumnus))
    for key in keys_for(alumnus):
        if key not in listed:
            db.session.add(Suppression(key_hash=key, reason=reason))
            listed.add(key)


def suppress_address(address: str, reason: SuppressionReason) -> None:
    key = email_suppression_key(address)
    if not suppressed_among([key]):
        db.session.add(Suppression(key_hash=key, reason=reason))


def suppressed_among(keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    query = sa.select(Suppression.key_hash).where(among(Suppression.key_hash, keys))
    return set(db.session.scalars(query))


def is_suppressed(alumnus: Alumnus) -> bool:
    return bool(suppressed_among(keys_for(alumnus)))


def is_address_suppressed(address: str) -> bool:
    return bool(suppressed_among([email_suppression_key(address)]))
