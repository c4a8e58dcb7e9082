"""Configuration: the one place that reads the environment.

Every setting has an embedded default so that the app runs with no service at all: SQLite in
``instance/``, an in-process queue instead of Redis, and the dev outbox instead of SMTP.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

GENERATED_KEYS = ("SECRET_KEY", "SUPPRESSION_KEY", "PSEUDONYM_KEY")
TRUE_WORDS = ("1", "true", "yes", "on")
DEMO_SENDER = "Alumnibureau Demo College <alumni@demo-college.example>"


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
        # How many reverse proxies (nginx, a load balancer) stand in front of the web process:
        # their X-Forwarded-For gives rate limits and the audit log the real client address.
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        # The largest request body, in bytes, of any page or API call: a form of ours is a few
        # kilobytes. Larger bodies are refused (413) before they are read; the staff import
        # raises the limit for its own uploads (alumni/staff/imports.py).
        "MAX_CONTENT_LENGTH": int(env("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "MAIL_FROM": env("MAIL_FROM", DEMO_SENDER),
        "ORGANISATION_NAME": env("ORGANISATION_NAME", "Demo College"),
        # The mailto: of List-Unsubscribe; the office handles those mails by hand.
        "UNSUBSCRIBE_MAILTO": env("UNSUBSCRIBE_MAILTO")
        or parseaddr(env("MAIL_FROM", DEMO_SENDER))[1],
        "LIST_ID": env("LIST_ID")
        or f"<alumni.{parseaddr(env('MAIL_FROM', DEMO_SENDER))[1].rpartition('@')[2]}>",
        # Campaign sending: messages per second over all workers together (0: no limit).
        "SEND_RATE": float(env("SEND_RATE", "0")),
        "SEND_BATCH_SIZE": int(env("SEND_BATCH_SIZE", "100")),
        # The scheduler's tick: start due campaigns, queue again what a crash lost.
        "TICK_SECONDS": float(env("TICK_SECONDS", "10")),
        # A batch job not done after this long is queued again (its worker may have died);
        # a claim still open after this long was in flight at a crash and is never resent.
        "STALE_BATCH_SECONDS": float(env("STALE_BATCH_SECONDS", "600")),
        "INTERRUPTED_CLAIM_SECONDS": float(env("INTERRUPTED_CLAIM_SECONDS", "900")),
        # How long an opt-out link's page opens (its one-click POST works at any age).
        "UNSUBSCRIBE_MAX_AGE_DAYS": int(env("UNSUBSCRIBE_MAX_AGE_DAYS", "730")),
        # DKIM signing (dkimpy) when a key is configured; covers List-Unsubscribe(-Post).
        "DKIM_PRIVATE_KEY_PATH": env("DKIM_PRIVATE_KEY_PATH") or None,
        "DKIM_SELECTOR": env("DKIM_SELECTOR", "alumni"),
        "DKIM_DOMAIN": env("DKIM_DOMAIN") or None,
        "PRIVACY_CONTACT": env("PRIVACY_CONTACT", "privacy@demo-college.example"),
        # The controller in every consent receipt (Kantara CR 1.1 asks for a postal address and
        # a telephone number): "street and number, postal code, place".
        "ORGANISATION_ADDRESS": parse_postal_address(
            env("ORGANISATION_ADDRESS", "Demostraat 1, 1234 AB, Demostad")
        ),
        "ORGANISATION_PHONE": env("ORGANISATION_PHONE", "+31 30 000 0000").strip(),
        "ERASURE_LEDGER_PATH": env(
            "ERASURE_LEDGER_PATH", str(instance_path / "erasure-ledger.jsonl")
        ),
        "OPENS_MIN_RECIPIENTS": int(env("OPENS_MIN_RECIPIENTS", "10")),
        # Open tracking for the whole installation: off, campaign emails carry no pixel and
        # no open is counted or reported.
        "OPEN_TRACKING": env("OPEN_TRACKING", "on").strip().lower() in TRUE_WORDS,
        "LINK_MAX_AGE_DAYS": int(env("LINK_MAX_AGE_DAYS", "30")),
        # Consent is asked for again when it is older than this, and after a material notice;
        # the answer is awaited this long ("keep my choices" works until then), then the
        # consent lapses.
        "CONSENT_RENEW_AFTER_MONTHS": int(env("CONSENT_RENEW_AFTER_MONTHS", "24")),
        "RENEWAL_GRACE_DAYS": int(env("RENEWAL_GRACE_DAYS", "60")),
        # -- erasure and retention ---------------------------------------------------------
        # Personal fields a legal duty makes us keep after an erasure, each with its reason:
        # "graduation_year=diploma register (WEB art. 7.4)". By default none.
        "ERASURE_KEEP_FIELDS": parse_keep_fields(env("ERASURE_KEEP_FIELDS", "")),
        # An erasure request its job has not done after this long is done by the tick.
        "ERASURE_SWEEP_SECONDS": float(env("ERASURE_SWEEP_SECONDS", "30")),
        # Invitees who have not answered within this many days are erased.
        "INVITE_TTL_DAYS": int(env("INVITE_TTL_DAYS", "60")),
        # Who got which campaign email, and the audit log, are kept this long.
        "DELIVERY_RETENTION_DAYS": int(env("DELIVERY_RETENTION_DAYS", "730")),
        "AUDIT_RETENTION_DAYS": int(env("AUDIT_RETENTION_DAYS", "730")),
        "RETENTION_INTERVAL_SECONDS": float(env("RETENTION_INTERVAL_SECONDS", "3600")),
        "LINK_RATE_LIMIT": env("LINK_RATE_LIMIT", "5 per minute;30 per hour"),
        # Per address typed, so nobody can flood one person's inbox from many machines.
        "LINK_RATE_LIMIT_PER_ADDRESS": env("LINK_RATE_LIMIT_PER_ADDRESS", "3 per hour"),
        # Each request for a new address mails the address typed: per person.
        "ADDRESS_CHANGE_RATE_LIMIT": env("ADDRESS_CHANGE_RATE_LIMIT", "3 per hour;6 per day"),
        # /join per client, and per address and per student number typed: a guessed date of
        # birth costs a try, and nobody floods one inbox.
        "JOIN_RATE_LIMIT": env("JOIN_RATE_LIMIT", "5 per minute;30 per hour"),
        "JOIN_RATE_LIMIT_PER_ADDRESS": env("JOIN_RATE_LIMIT_PER_ADDRESS", "3 per hour;10 per day"),
        "RATELIMIT_STORAGE_URI": env("REDIS_URL") or "memory://",
        # Installations that share one Redis server keep their counts apart.
        "RATELIMIT_KEY_PREFIX": env("DRAMATIQ_NAMESPACE", "alumni"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
        "LANGUAGES": ("nl", "en"),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _secure_cookies(environ),
        # A staff session ends after this long without a request, and after this long in all
        # (checked on the server from times kept in the signed session; ASVS 3.3.2).
        "STAFF_SESSION_IDLE_MINUTES": float(env("STAFF_SESSION_IDLE_MINUTES", "30")),
        "STAFF_SESSION_MAX_HOURS": float(env("STAFF_SESSION_MAX_HOURS", "12")),
        # The cookie itself is gone after the absolute limit too.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=float(env("STAFF_SESSION_MAX_HOURS", "12"))),
        # Sensitive actions (erasure, staff accounts, tokens) ask for the password again when
        # it was last typed longer ago than this.
        "STAFF_REAUTH_MINUTES": float(env("STAFF_REAUTH_MINUTES", "15")),
        # An invitation link for a new colleague, and a link to set a forgotten password.
        "STAFF_INVITE_HOURS": float(env("STAFF_INVITE_HOURS", "24")),
        "PASSWORD_RESET_MINUTES": float(env("PASSWORD_RESET_MINUTES", "60")),
        # Requests for a reset link, per client address and per address typed.
        "PASSWORD_RESET_RATE_LIMIT": env("PASSWORD_RESET_RATE_LIMIT", "5 per minute;20 per hour"),
        "PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS": env(
            "PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS", "3 per hour"
        ),
        # -- staff single sign-on (OpenID Connect) -----------------------------------------
        # The school's identity provider; its /.well-known/openid-configuration says the rest.
        # Unset: no single sign-on, staff log in with a password.
        "OIDC_ISSUER": (env("OIDC_ISSUER") or "").strip().rstrip("/") or None,
        "OIDC_CLIENT_ID": env("OIDC_CLIENT_ID") or None,
        "OIDC_CLIENT_SECRET": env("OIDC_CLIENT_SECRET") or None,
        # Scopes asked for: the provider must release email, email_verified and the role claim.
        "OIDC_SCOPE": env("OIDC_SCOPE", "openid email"),
        # The claim that says what a person may do here, and its values as roles:
        # "urn:x:alumni:admin=admin,urn:x:alumni:office=officer". Unmapped: no session.
        "OIDC_ROLE_CLAIM": env("OIDC_ROLE_CLAIM", "eduPersonEntitlement"),
        "OIDC_ROLE_MAP": parse_role_map(env("OIDC_ROLE_MAP", "")),
        # On: a person the provider vouches for, with a mapped role, gets an account at the
        # first login. Off: only accounts that exist already (made or invited by an admin).
        "OIDC_CREATE_ACCOUNTS": env("OIDC_CREATE_ACCOUNTS", "off").strip().lower() in TRUE_WORDS,
        # Off (with single sign-on configured): the login page shows only the provider's button
        # and passwords are refused.
        "STAFF_PASSWORD_LOGIN": env("STAFF_PASSWORD_LOGIN", "on").strip().lower() in TRUE_WORDS,
        # API tokens live 90 days unless their maker asks otherwise, and never longer than this.
        "API_TOKEN_MAX_DAYS": int(env("API_TOKEN_MAX_DAYS", "365")),
        # /metrics: a bearer token for the scraper; unset, only this machine (loopback) may read.
        "METRICS_TOKEN": env("METRICS_TOKEN") or None,
        # Refused requests (401, 403) go into the audit log, at most this many per client
        # address and in total, so that a flood of refusals cannot fill the log.
        "AUDIT_REFUSALS_PER_CLIENT": env("AUDIT_REFUSALS_PER_CLIENT", "10 per minute"),
        "AUDIT_REFUSALS_TOTAL": env("AUDIT_REFUSALS_TOTAL", "100 per minute"),
        # -- staff second factor (TOTP, recovery codes, passkeys) ---------------------------
        # Admins and officers always need one; researchers too unless this is off.
        "STAFF_SECOND_FACTOR_RESEARCHER": env("STAFF_SECOND_FACTOR_RESEARCHER", "on")
        .strip()
        .lower()
        in TRUE_WORDS,
        # Between the password (or single sign-on) and the second step: this long at most.
        "SECOND_FACTOR_PENDING_SECONDS": int(env("SECOND_FACTOR_PENDING_SECONDS", "300")),
        # Wrong codes at the second step (only failures count), per account.
        "SECOND_FACTOR_RATE_LIMIT": env("SECOND_FACTOR_RATE_LIMIT", "5 per minute;20 per hour"),
        # Passkeys (WebAuthn): the relying party id (a host name, no IP address) and the origin
        # the browser must be on. Unset: both from BASE_URL.
        "WEBAUTHN_RP_ID": env("WEBAUTHN_RP_ID") or None,
        "WEBAUTHN_ORIGIN": (env("WEBAUTHN_ORIGIN") or "").strip().rstrip("/") or None,
        # Failed staff logins (only failures count): per client address, per account typed
        # and client address, and a ceiling per account typed over all addresses, high enough
        # that a stranger cannot cheaply lock the real user out. Shared through Redis when
        # REDIS_URL is set (RATELIMIT_STORAGE_URI above).
        "LOGIN_RATE_LIMIT": env("LOGIN_RATE_LIMIT", "5 per minute;20 per hour"),
        "LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_ADDRESS": env(
            "LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_ADDRESS", "5 per 15 minutes"
        ),
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": env("LOGIN_RATE_LIMIT_PER_ACCOUNT", "100 per hour"),
        # A browser that logged in to an account with its password is not held to that
        # account's ceiling for this long (alumni/web/staff/known_browser.py).
        "STAFF_KNOWN_BROWSER_DAYS": int(env("STAFF_KNOWN_BROWSER_DAYS", "90")),
    }


def engine_options(database_url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        # A sending worker thread holds three connections (its session and a courier's two):
        # room for dramatiq's default of 8 threads and more. Connections open only when used.
        options |= {"pool_size": 5, "max_overflow": 35}
    return options


def normalise_database_url(url: str) -> str:
    """Accept ``postgresql://user@host/db`` as operators write it; we use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def parse_keep_fields(value: str) -> dict[str, str]:
    """``field=reason;field=reason`` into a dict; a field must be a personal field and have a
    reason, or the app does not start."""
    from alumni.models.alumnus import PERSONAL_FIELDS

    kept: dict[str, str] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        name, _, reason = (piece.strip() for piece in part.partition("="))
        if name not in PERSONAL_FIELDS:
            raise ValueError(f"ERASURE_KEEP_FIELDS: {name!r} is not a personal field")
        if not reason:
            raise ValueError(f"ERASURE_KEEP_FIELDS: {name!r} needs the legal duty that keeps it")
        kept[name] = reason
    return kept


def parse_postal_address(value: str) -> dict[str, str]:
    """``street and number, postal code, place`` (in the Netherlands) into the parts of a
    postal address as a consent receipt writes them; anything else stops the app."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(
            f"ORGANISATION_ADDRESS: {value!r} is not 'street and number, postal code, place'"
        )
    street, postal_code, place = parts
    return {
        "streetAddress": street,
        "postalCode": postal_code,
        "addressLocality": place,
        "addressCountry": "NL",
    }


def parse_role_map(value: str) -> dict[str, str]:
    """``claim-value=role,claim-value=role`` into a dict; an unknown role stops the app."""
    from alumni.models.staff import Role

    roles = tuple(Role)
    mapping: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        claim_value, _, role = (piece.strip() for piece in part.rpartition("="))
        if not claim_value or role not in roles:
            raise ValueError(
                f"OIDC_ROLE_MAP: {part.strip()!r} is not VALUE=ROLE, ROLE one of {', '.join(roles)}"
            )
        mapping[claim_value] = role
    return mapping


def _secure_cookies(environ: Mapping[str, str]) -> bool:
    """Session cookies are Secure except in debug mode (``flask run --debug``).

    ``make run`` serves http://localhost:5000 without TLS and still works: Chromium and Firefox
    treat localhost as a secure context and keep Secure cookies from it. Safari, or another
    host name on plain http, needs ``--debug`` or ``SESSION_COOKIE_SECURE=0``.
    """
    explicit = environ.get("SESSION_COOKIE_SECURE", "").strip().lower()
    if explicit:
        return explicit in TRUE_WORDS
    return environ.get("FLASK_DEBUG", "").strip().lower() not in TRUE_WORDS


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
