"""The mail backends: SMTP, the dev outbox, and in memory."""

from __future__ import annotations

import os
import smtplib
import ssl
import threading
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from alumni.mail.message import OutgoingMessage, PermanentFailure, TemporaryFailure


class MailBackend(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Hand over one message, or raise ``TemporaryFailure`` or ``PermanentFailure``."""

    def close(self) -> None:
        """Release the connection held by the calling thread."""

    def close_all(self) -> None:
        """Release every connection, at shutdown."""


class MemoryBackend:
    """Keeps messages in a list, as a recipient's mail program reads them: for unit tests."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        received = message_from_bytes(message.as_bytes(), policy=policy.default)
        with self._lock:
            self.outbox.append(received)  # type: ignore[arg-type]

    def close(self) -> None:
        pass

    def close_all(self) -> None:
        pass


class OutboxBackend:
    """Writes each message as an ``.eml`` file, for the dev outbox page.

    A stored copy names its recipient, so it keeps no open-tracking token (I7): the pixel's
    address is replaced by one that is never counted.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def send(self, message: OutgoingMessage) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid1().hex}.eml"  # time-ordered, so the listing sorts by sending
        partial = self.path / f".{name}.part"
        stored = message_from_bytes(message.as_bytes(), policy=policy.default)
        partial.write_bytes(_without_pixel(stored).as_bytes())  # type: ignore[arg-type]
        partial.replace(self.path / name)

    def close(self) -> None:
        pass

    def close_all(self) -> None:
        pass


def _without_pixel(message: EmailMessage) -> EmailMessage:
    from alumni.opens.tokens import without_pixel

    html_part = message.get_body(preferencelist=("html",))
    if html_part is None:
        return message
    html = html_part.get_content()
    kept = without_pixel(html)
    if kept != html:
        html_part.set_content(kept, subtype="html", charset="utf-8")
    return message


class SMTPBackend:
    """``smtp://user:pass@host:port``, ``smtps://`` for TLS, ``?starttls=1``.

    Each thread keeps its own connection and reuses it for the next message.
    """

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        self.tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._local = threading.local()
        self._open: set[smtplib.SMTP] = set()
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if self.tls:
            connection = _SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            connection = _SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                connection.starttls(context=context)
        if self.username:
            connection.login(self.username, self.password or "")
        return connection

    def _connection(self) -> smtplib.SMTP:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
            with self._lock:
                self._open.add(connection)
        return connection

    def send(self, message: OutgoingMessage) -> None:
        reused = getattr(self._local, "connection", None) is not None
        try:
            try:
                refused = _hand_over(self._connection(), message)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The server closed an idle connection: one fresh try before calling it a failure.
                self.close()
                refused = _hand_over(self._connection(), message)
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            code, text = next(iter(error.recipients.values()))
            raise _failure(code, text) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            raise _failure(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise TemporaryFailure(f"SMTP server unreachable: {type(error).__name__}") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _failure(code, text)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            self._quit(connection)

    def close_all(self) -> None:
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            self._quit(connection)

    def _quit(self, connection: smtplib.SMTP) -> None:
        with self._lock:
            self._open.discard(connection)
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def dot_stuffed(data: bytes) -> bytes:
    """Every line that starts with "." gets one more (RFC 5321 §4.5.2), as smtplib's own
    ``_quote_periods`` does: a line starts at the beginning and after every LF."""
    stuffed = data.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _data(self: smtplib.SMTP, msg: bytes) -> tuple[int, bytes]:
    """smtplib's ``SMTP.data``, but for its dot-stuffing: smtplib tests every byte of the
    message against a regular expression, a fifth of a sending worker's instructions (see
    docs/benchmarks.md); ``bytes.replace`` finds the line starts in C. ``sendmail`` passes
    bytes."""
    self.putcmd("data")
    code, reply = self.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    stuffed = dot_stuffed(msg)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    self.send(stuffed + b".\r\n")
    return self.getreply()


class _SMTP(smtplib.SMTP):
    data = _data


class _SMTP_SSL(smtplib.SMTP_SSL):
    data = _data


def _hand_over(connection: smtplib.SMTP, message: OutgoingMessage) -> dict[str, tuple[int, bytes]]:
    options: list[str] = []
    if message.international:
        connection.ehlo_or_helo_if_needed()
        if not connection.has_extn("smtputf8"):
            # The relay's limit, not the address's fault: failed, but never suppressed.
            raise PermanentFailure("the mail server takes no address that is not ASCII", code=555)
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    return connection.sendmail(
        message.sender, [message.recipient], message.as_bytes(), mail_options=options
    )


def _failure(code: int, text: bytes | str) -> TemporaryFailure | PermanentFailure:
    # Only the code: the server's text often repeats the address, which must not reach logs.
    if 500 <= code < 600:
        return PermanentFailure(f"SMTP {code}", code=code)
    return TemporaryFailure(f"SMTP {code}")
