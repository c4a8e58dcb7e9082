"""Outgoing mail behind one small interface; the backend is chosen by configuration.

``SMTP_URL`` set: SMTP. Unset: the dev outbox (``.eml`` files shown at ``/dev/outbox``).
Tests may use the in-memory backend. Every backend passes the same contract test.
"""

from __future__ import annotations

from flask import Flask, current_app

from alumni.mail.backends import MailBackend, MemoryBackend, OutboxBackend, SMTPBackend
from alumni.mail.message import (
    Attachment,
    Email,
    MailError,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    build_message,
)

__all__ = [
    "Attachment",
    "Email",
    "MailBackend",
    "MailError",
    "MemoryBackend",
    "OutboxBackend",
    "OutgoingMessage",
    "PermanentFailure",
    "SMTPBackend",
    "TemporaryFailure",
    "build_message",
    "init_app",
    "send",
]


def init_app(app: Flask) -> None:
    backend: MailBackend
    if app.config.get("MAIL_BACKEND") == "memory":
        backend = MemoryBackend()
    elif app.config["SMTP_URL"]:
        backend = SMTPBackend(app.config["SMTP_URL"], timeout=app.config["SMTP_TIMEOUT"])
    else:
        backend = OutboxBackend(app.config["OUTBOX_PATH"])
    app.extensions["mail"] = backend
    app.extensions["dkim"] = None
    if app.config.get("DKIM_PRIVATE_KEY_PATH"):
        from alumni.mail.dkim import Signer

        domain = app.config["DKIM_DOMAIN"] or app.config["MAIL_FROM"].rpartition("@")[2].strip(">")
        app.extensions["dkim"] = Signer(
            app.config["DKIM_PRIVATE_KEY_PATH"], app.config["DKIM_SELECTOR"], domain
        )


def backend() -> MailBackend:
    return current_app.extensions["mail"]


def send(email: Email) -> str:
    """Hand one email to the configured backend; returns its Message-ID."""
    message = build_message(email, sender=current_app.config["MAIL_FROM"])
    signer = current_app.extensions["dkim"]
    if signer is not None:
        signer.sign(message)
    backend().send(message)
    return message["Message-ID"]
