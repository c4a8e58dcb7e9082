"""The bounce mailbox: bounces and complaints that the school's mail system delivers into a
mailbox (``BOUNCE_MAILBOX_URL``), fetched by the scheduler over IMAP or POP3.

A message leaves the mailbox only after ``handle`` returned without raising, and whoever
handles it commits before it returns: a crash at any point loses nothing, and at worst offers
a message twice (after a crash between the commit and the deletion, or when two schedulers
poll at once). A handler must therefore accept a message it has seen before.

Nothing personal is logged: no URL, no user name, no address, no subject; a message is named
by its number in the mailbox, an error by its kind.
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask

from alumni.core.metrics import count

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"imaps": 993, "imap": 143, "pop3s": 995, "pop3": 110}
# A plain (unencrypted) protocol sends the password in clear: only to this machine.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
TIMEOUT_SECONDS = 30
# Messages offered per poll: a backlog of thousands must not hold up the scheduler's other
# steps. A poll that left messages waiting is due again at the next tick.
MESSAGES_PER_POLL = 200

Handler = Callable[[bytes], object]


class PollError(StrEnum):
    """Why a poll did not get through the mailbox; a log line and a metric say the same word."""

    BAD_URL = "bad-url"  # BOUNCE_MAILBOX_URL cannot be used as written
    UNREACHABLE = "unreachable"  # no connection: the host, the port, the network, a timeout
    TLS = "tls"  # the server's certificate did not verify, or the TLS handshake failed
    LOGIN_REFUSED = "login-refused"  # wrong user name or password
    NO_SUCH_FOLDER = "no-such-folder"  # the folder of the URL, or its ?done= folder
    NOT_REMOVED = "not-removed"  # the server refused to delete or move a handled message
    CONNECTION_LOST = "connection-lost"  # the server broke off or answered nonsense mid-way


@dataclass(frozen=True)
class PollResult:
    """``handled``: ``handle`` returned and the message was deleted (or moved); ``failed``:
    ``handle`` raised and the message stays; ``kept``: left in the mailbox without being
    offered (over the limit, or after ``error`` stopped the poll)."""

    handled: int = 0
    failed: int = 0
    kept: int = 0
    error: PollError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class MailboxError(Exception):
    """A poll that cannot go on; ``detail`` is safe to log (never the URL or a credential)."""

    def __init__(self, reason: PollError, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MailboxAddress:
    """``BOUNCE_MAILBOX_URL`` taken apart; its ``repr`` leaves out the password."""

    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    done_folder: str | None = None

    @property
    def imap(self) -> bool:
        return self.scheme.startswith("imap")

    @property
    def tls(self) -> bool:
        return self.scheme.endswith("s")

    def __repr__(self) -> str:
        return f"MailboxAddress({self.scheme}://{self.host}:{self.port})"


def parse_url(url: str) -> MailboxAddress:
    """``imaps://user:pass@host[:port]/FOLDER[?done=FOLDER]`` or ``pop3s://user:pass@host[:port]``
    (``imap://`` and ``pop3://`` on loopback only). The user name and the password are
    percent-decoded, so ``@``, ``:`` and ``/`` in a password are written ``%40``, ``%3A``,
    ``%2F``. Raises ``ValueError`` with a message that never repeats the URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(
            "BOUNCE_MAILBOX_URL must start with imaps://, pop3s://, imap:// or pop3://"
        )
    if not parts.hostname:
        raise ValueError("BOUNCE_MAILBOX_URL has no host")
    if not parts.username or parts.password is None:
        raise ValueError("BOUNCE_MAILBOX_URL needs the mailbox's user name and password")
    if not scheme.endswith("s") and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(
            "BOUNCE_MAILBOX_URL: imap:// and pop3:// send the password unencrypted and are "
            "only for this machine; use imaps:// or pop3s://"
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("BOUNCE_MAILBOX_URL: the port is not a number from 1 to 65535") from None
    user, password = unquote(parts.username), unquote(parts.password)
    if scheme.startswith("imap") and not (user + password).isascii():
        # imaplib's LOGIN sends ASCII only.
        raise ValueError("BOUNCE_MAILBOX_URL: an IMAP user name and password must be ASCII")
    folder, done_folder = _folders(scheme, parts.path, parts.query)
    return MailboxAddress(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        user=user,
        password=password,
        folder=folder,
        done_folder=done_folder,
    )


def _folders(scheme: str, path: str, query: str) -> tuple[str, str | None]:
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"done"})
    if unknown:
        raise ValueError(f"BOUNCE_MAILBOX_URL: unknown option {unknown[0]!r} (only ?done=FOLDER)")
    folder = unquote(path.strip("/"))
    done_folder = options.get("done", [""])[-1].strip() or None
    if scheme.startswith("pop3"):
        if folder or done_folder:
            raise ValueError("BOUNCE_MAILBOX_URL: POP3 has no folders (no /FOLDER, no ?done=)")
        return "", None
    return folder or "INBOX", done_folder


def poll(
    url: str, handle: Handler, *, limit: int | None = None, ca_file: str | None = None
) -> PollResult:
    """Offer each message of the mailbox to ``handle`` (at most ``limit``); delete (or move to
    ``?done=``) those it returned for, keep those it raised for.

    A message whose ``handle`` raised does not stop the poll: what failed may be that one
    message, and it must not hold back every bounce behind it. Its error is logged by kind
    only, and it is offered again at the next poll. A connection that fails gives a result
    with its ``error`` and a logged line, never an exception. ``ca_file``: the certificates
    (PEM) to trust instead of the system's, for a server with a certificate of the school's
    own certificate authority.
    """
    try:
        address = parse_url(url)
    except ValueError as error:
        log.error("bounce mailbox: %s", error)
        return PollResult(error=PollError.BAD_URL)
    tally = _Tally()
    try:
        with _open(address, ca_file) as box:
            _drain(box, handle, limit, tally)
    except MailboxError as error:
        log.error("bounce mailbox: %s: %s", error.reason, error.detail)
        return tally.result(error.reason)
    return tally.result(None)


def poll_configured(app: Flask, handle: Handler, now: float | None = None) -> PollResult | None:
    """The scheduler's step: poll ``BOUNCE_MAILBOX_URL`` when it is set and due, that is
    ``BOUNCE_POLL_SECONDS`` after the last poll of this process, or at once when the last
    poll left messages over the limit. None when there was nothing to do. Each poll is
    counted in ``/metrics`` by its result: a mailbox that keeps failing is worth an alert."""
    url = app.config.get("BOUNCE_MAILBOX_URL")
    if not url:
        return None
    now = time.monotonic() if now is None else now
    state = app.extensions.setdefault("bounce_mailbox", {"next_poll": now})
    if now < state["next_poll"]:
        return None
    result = poll(
        url, handle, limit=MESSAGES_PER_POLL, ca_file=app.config.get("BOUNCE_MAILBOX_CA_FILE")
    )
    count("alumni_bounce_mailbox_polls", str(result.error or "ok"))
    backlog = result.ok and result.kept > 0
    state["next_poll"] = now if backlog else now + app.config["BOUNCE_POLL_SECONDS"]
    if result.handled or result.failed:
        log.info(
            "bounce mailbox: %d handled, %d failed, %d waiting",
            result.handled,
            result.failed,
            result.kept,
        )
    return result


@dataclass
class _Tally:
    total: int = 0
    seen: int = 0
    handled: int = 0
    failed: int = 0

    def result(self, error: PollError | None) -> PollResult:
        return PollResult(self.handled, self.failed, self.total - self.seen, error)


class _Box(Protocol):
    """One open mailbox, whatever the protocol; every method raises only ``MailboxError``."""

    def message_ids(self) -> list[bytes]: ...

    def fetch(self, message_id: bytes) -> bytes | None: ...

    def remove(self, message_id: bytes) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def _drain(box: _Box, handle: Handler, limit: int | None, tally: _Tally) -> None:
    message_ids = box.message_ids()
    tally.total = len(message_ids)
    for message_id in message_ids[:limit]:
        tally.seen += 1
        raw = box.fetch(message_id)
        if raw is None:  # gone since the listing: another poller took it
            continue
        try:
            handle(raw)
        except Exception as error:  # the message stays for the next poll, the others go on
            tally.failed += 1
            log.warning(
                "bounce mailbox: message %s not handled (%s); it stays for the next poll",
                message_id.decode(),
                type(error).__name__,
            )
            continue
        tally.handled += 1
        box.remove(message_id)


@contextmanager
def _open(address: MailboxAddress, ca_file: str | None) -> Iterator[_Box]:
    """Connected and logged in; on leaving, the removals are committed (EXPUNGE, QUIT), unless
    an error left, which drops the connection and commits nothing more."""
    context = _tls_context(ca_file) if address.tls else None
    box: _Box = _ImapBox(address, context) if address.imap else _PopBox(address, context)
    try:
        yield box
    except BaseException:
        box.abort()
        raise
    box.finish()


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates verified, host name checked; with ``ca_file``, only its authorities."""
    with _failing_as(PollError.TLS, "the CA file (BOUNCE_MAILBOX_CA_FILE) cannot be read"):
        return ssl.create_default_context(cafile=ca_file)


@contextmanager
def _failing_as(reason: PollError, detail: str) -> Iterator[None]:
    """Protocol and socket errors as a ``MailboxError``; only their kind goes into the detail
    (a server's answer may repeat the user name)."""
    try:
        yield
    except ssl.SSLCertVerificationError as error:
        detail = (
            f"certificate not trusted ({error.verify_message}); "
            "a school's own certificate authority goes in BOUNCE_MAILBOX_CA_FILE"
        )
        raise MailboxError(PollError.TLS, detail) from None
    except ssl.SSLError as error:
        raise MailboxError(PollError.TLS, f"TLS failed: {type(error).__name__}") from None
    except (OSError, EOFError, imaplib.IMAP4.abort) as error:
        if reason in (PollError.LOGIN_REFUSED, PollError.NO_SUCH_FOLDER):
            reason = PollError.CONNECTION_LOST
        kind = getattr(error, "strerror", None) or type(error).__name__
        raise MailboxError(reason, f"{detail}: {kind}") from None
    except (imaplib.IMAP4.error, poplib.error_proto):
        raise MailboxError(reason, detail) from None


def _connecting(address: MailboxAddress) -> str:
    return f"no connection to {address.host}:{address.port} ({address.scheme})"


class _ImapBox:
    def __init__(self, address: MailboxAddress, context: ssl.SSLContext | None) -> None:
        self.done_folder = address.done_folder
        with _failing_as(PollError.UNREACHABLE, _connecting(address)):
            if context is None:
                self.client = imaplib.IMAP4(address.host, address.port, timeout=TIMEOUT_SECONDS)
            else:
                self.client = imaplib.IMAP4_SSL(
                    address.host, address.port, ssl_context=context, timeout=TIMEOUT_SECONDS
                )
        try:
            self._enter(address)
        except MailboxError:
            self.abort()
            raise

    def _enter(self, address: MailboxAddress) -> None:
        with _failing_as(PollError.LOGIN_REFUSED, "the server refused the user name or password"):
            self.client.login(address.user, address.password)
        with _failing_as(
            PollError.NO_SUCH_FOLDER, "the folder (or the ?done= folder) cannot be opened"
        ):
            if self.client.select(_quoted(address.folder))[0] != "OK":
                raise imaplib.IMAP4.error("SELECT")
            if self.done_folder:
                self.client.create(_quoted(self.done_folder))  # "NO": it exists already
                if self.client.status(_quoted(self.done_folder), "(MESSAGES)")[0] != "OK":
                    raise imaplib.IMAP4.error("STATUS")

    def message_ids(self) -> list[bytes]:
        # Marked \Deleted by a poll that lost its connection before EXPUNGE: handled already.
        with _failing_as(PollError.CONNECTION_LOST, "listing the messages failed"):
            answer, data = self.client.uid("SEARCH", "UNDELETED")
            _expect_ok(answer)
        return data[0].split() if data and data[0] else []

    def fetch(self, message_id: bytes) -> bytes | None:
        with _failing_as(PollError.CONNECTION_LOST, "fetching a message failed"):
            answer, data = self.client.uid("FETCH", message_id, "(BODY.PEEK[])")
            _expect_ok(answer)
        return next((part[1] for part in data if isinstance(part, tuple)), None)

    def remove(self, message_id: bytes) -> None:
        """COPY and \\Deleted rather than MOVE, which not every server has; EXPUNGE follows."""
        with _failing_as(PollError.NOT_REMOVED, f"message {message_id.decode()} not removed"):
            if self.done_folder:
                _expect_ok(self.client.uid("COPY", message_id, _quoted(self.done_folder))[0])
            _expect_ok(self.client.uid("STORE", message_id, "+FLAGS.SILENT", r"(\Deleted)")[0])

    def finish(self) -> None:
        with _failing_as(PollError.NOT_REMOVED, "the handled messages were not expunged"):
            _expect_ok(self.client.expunge()[0])
            self.client.logout()

    def abort(self) -> None:
        with suppress(OSError):  # already gone
            self.client.shutdown()


class _PopBox:
    def __init__(self, address: MailboxAddress, context: ssl.SSLContext | None) -> None:
        with _failing_as(PollError.UNREACHABLE, _connecting(address)):
            if context is None:
                self.client = poplib.POP3(address.host, address.port, timeout=TIMEOUT_SECONDS)
            else:
                self.client = poplib.POP3_SSL(
                    address.host, address.port, timeout=TIMEOUT_SECONDS, context=context
                )
        try:
            with _failing_as(
                PollError.LOGIN_REFUSED, "the server refused the user name or password"
            ):
                self.client.user(address.user)
                self.client.pass_(address.password)
        except MailboxError:
            self.abort()
            raise

    def message_ids(self) -> list[bytes]:
        with _failing_as(PollError.CONNECTION_LOST, "listing the messages failed"):
            _, listing, _ = self.client.list()
        return [line.split()[0] for line in listing]

    def fetch(self, message_id: bytes) -> bytes | None:
        with _failing_as(PollError.CONNECTION_LOST, "fetching a message failed"):
            _, lines, _ = self.client.retr(int(message_id))
        return b"\r\n".join(lines) + b"\r\n"

    def remove(self, message_id: bytes) -> None:
        """Marked only: the server deletes at QUIT, so a lost connection deletes nothing."""
        with _failing_as(PollError.NOT_REMOVED, f"message {message_id.decode()} not removed"):
            self.client.dele(int(message_id))

    def finish(self) -> None:
        with _failing_as(PollError.NOT_REMOVED, "the server did not confirm the deletions"):
            self.client.quit()

    def abort(self) -> None:
        self.client.close()


def _expect_ok(answer: str) -> None:
    if answer != "OK":
        raise imaplib.IMAP4.error(answer)


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string (names with spaces; ASCII names only)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
