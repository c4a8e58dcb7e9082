"""Configuration: the one place that reads the environment.

Every setting has an embedded default so that the app runs with no service at all: SQLite in
``instance/``, an in-process queue instead of Redis, and the dev outbox instead of SMTP.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GENERATED_KEYS = ("SECRET_KEY", "SUPPRESSION_KEY", "PSEUDONYM_KEY")


def load_config(instance_path: Path, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Build the app configuration from the environment, with embedded defaults."""
    env = environ.get
    instance_path.mkdir(parents=True, exist_ok=True)
    keys = _generated_keys(instance_path, environ)

    database_url = normalise_database_url(
        env("DATABASE_URL") or f"sqlite:///{instance_path / 'alumni.sqlite3'}"
    )
    smtp_url = env("SMTP_URL") or None
    return {
        "SECRET_KEY": keys["SECRET_KEY"],
        "SECRET_KEY_FALLBACKS": _split(env("SECRET_KEY_FALLBACKS", "")),
        # Keyed hashes that must stay comparable for years: never rotate these keys.
        "SUPPRESSION_KEY": keys["SUPPRESSION_KEY"],
        "PSEUDONYM_KEY": keys["PSEUDONYM_KEY"],
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": env("REDIS_URL") or None,
        # Key prefix of the queues in Redis: installations can share one Redis server.
        "DRAMATIQ_NAMESPACE": env("DRAMATIQ_NAMESPACE", "alumni"),
        "SMTP_URL": smtp_url,
        "SMTP_TIMEOUT": float(env("SMTP_TIMEOUT", "30")),
        # Embedded mode: how long a command waits for retries before it reports what is left.
        "RETRY_GRACE_SECONDS": float(env("RETRY_GRACE_SECONDS", "15")),
        # The dev outbox shows every mail sent: only on a developer's embedded setup.
        "DEV_OUTBOX": smtp_url is None and database_url.startswith("sqlite"),
        "OUTBOX_PATH": str(instance_path / "outbox"),
        "BASE_URL": env("BASE_URL", "http://localhost:5000").rstrip("/"),
        "MAIL_FROM": env("MAIL_FROM", "Alumnibureau Demo College <alumni@demo-college.example>"),
        "ORGANISATION_NAME": env("ORGANISATION_NAME", "Demo College"),
        "PRIVACY_CONTACT": env("PRIVACY_CONTACT", "privacy@demo-college.example"),
        "ERASURE_LEDGER_PATH": env(
            "ERASURE_LEDGER_PATH", str(instance_path / "erasure-ledger.jsonl")
        ),
        "OPENS_MIN_RECIPIENTS": int(env("OPENS_MIN_RECIPIENTS", "10")),
        "LINK_MAX_AGE_DAYS": int(env("LINK_MAX_AGE_DAYS", "30")),
        "INVITE_TTL_DAYS": int(env("INVITE_TTL_DAYS", "60")),
        # Shown on the consent form and stored with every piece of consent evidence.
        "NOTICE_VERSION": env("NOTICE_VERSION", "2026-11"),
        "LINK_RATE_LIMIT": env("LINK_RATE_LIMIT", "5 per minute;30 per hour"),
        # Per address typed, so nobody can flood one person's inbox from many machines.
        "LINK_RATE_LIMIT_PER_ADDRESS": env("LINK_RATE_LIMIT_PER_ADDRESS", "3 per hour"),
        "RATELIMIT_STORAGE_URI": env("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
        "LANGUAGES": ("nl", "en"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("BASE_URL", "").startswith("https://"),
    }


def normalise_database_url(url: str) -> str:
    """Accept ``postgresql://user@host/db`` as operators write it; we use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _generated_keys(instance_path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Keys from the environment, else generated once into ``instance/secret-keys.json``."""
    missing = [name for name in GENERATED_KEYS if not environ.get(name)]
    keys = {name: environ[name] for name in GENERATED_KEYS if environ.get(name)}
    if not missing:
        return keys
    path = instance_path / "secret-keys.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if any(name not in stored for name in missing):
        stored = {name: stored.get(name) or secrets.token_urlsafe(48) for name in GENERATED_KEYS}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
    return {name: keys.get(name) or stored[name] for name in GENERATED_KEYS}
