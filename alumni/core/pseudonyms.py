"""Keyed hashes: how we recognise an address or student number without keeping it."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def normalise_email(address: str) -> str:
    return address.strip().lower()


def _keyed(key_name: str, domain: str, value: str) -> str:
    key = current_app.config[key_name].encode()
    return hmac.digest(key, f"{domain}:{value}".encode(), hashlib.sha256).hex()


def email_suppression_key(address: str) -> str:
    return _keyed("SUPPRESSION_KEY", "email", normalise_email(address))


def student_suppression_key(student_key_: str) -> str:
    """Built on ``student_key``: erasure can suppress a student number it never kept."""
    return _keyed("SUPPRESSION_KEY", "student", student_key_)


def student_key(student_number: str) -> str:
    """The pseudonymous key that keeps imports idempotent by student number."""
    return _keyed("PSEUDONYM_KEY", "student", student_number.strip().upper())
