"""An email as the app composes it, and the MIME message that goes on the wire."""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import lru_cache


class MailError(Exception):
    """The message could not be handed over."""


class TemporaryFailure(MailError):
    """Try again later: a 4xx answer, or the server could not be reached."""


class PermanentFailure(MailError):
    """A 5xx answer for this recipient: retrying will not help."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Attachment:
    """A file that goes with an email, e.g. the JSON of a consent receipt."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


def single_line(value: str) -> str:
    """Header values built from data never carry a line break, so they cannot add headers."""
    return " ".join(value.splitlines()).strip()


@dataclass
class OutgoingMessage:
    """A message as it goes on the wire: the envelope, the headers and the body as bytes.

    Campaign sending builds one per recipient, so it is built directly, not with the email
    package's object model, whose headers and generator cost more per email than everything
    else together. The shape is always the same: multipart/alternative, a plain-text and an
    HTML part, both UTF-8 in base64; header values that are not ASCII in RFC 2047 (or, for an
    address that is not ASCII, as UTF-8 under SMTPUTF8).
    """

    sender: str
    recipient: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def international(self) -> bool:
        """Needs SMTPUTF8: an address that is not ASCII."""
        return not (self.sender.isascii() and self.recipient.isascii())

    def __getitem__(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.headers)

    def prepend_header(self, name: str, value: str) -> None:
        self.headers.insert(0, (name, value))

    def as_bytes(self) -> bytes:
        lines = [_folded(name, value) for name, value in self.headers]
        return "".join(lines).encode() + CRLF + self.body


CRLF = b"\r\n"


def build_message(email: Email, sender: str) -> OutgoingMessage:
    """Multipart text and HTML, with Message-ID and Date; no tracking of any kind here."""
    name, address = _parsed(sender)
    domain = address.rpartition("@")[2] or "localhost"
    # "=_" never occurs in base64: the boundary cannot occur in any part. It need not be
    # unpredictable, so it costs no call to the system's random source.
    boundary = f"=_{random.getrandbits(128):032x}"
    body = _alternative(boundary, email)
    content_type = f'multipart/alternative; boundary="{boundary}"'
    if email.attachments:
        mixed = f"=_{random.getrandbits(128):032x}"
        body = _mixed(mixed, content_type, body, email.attachments)
        content_type = f'multipart/mixed; boundary="{mixed}"'
    headers = [
        ("From", _sender(single_line(name), address)),
        ("To", single_line(email.to)),
        ("Subject", _header(single_line(email.subject))),
        ("Date", _date(int(time.time()))),
        ("Message-ID", make_msgid(domain=domain)),
        *((header, _header(single_line(value))) for header, value in email.headers.items()),
        ("MIME-Version", "1.0"),
        ("Content-Type", content_type),
    ]
    return OutgoingMessage(address, single_line(email.to), headers, body)


def _alternative(boundary: str, email: Email) -> bytes:
    return b"".join(
        (
            _part(boundary, "plain", email.text),
            _part(boundary, "html", email.html),
            f"--{boundary}--".encode(),
            CRLF,
        )
    )


def _mixed(
    boundary: str, alternative_type: str, alternative: bytes, attachments: tuple[Attachment, ...]
) -> bytes:
    """The text and HTML first, then every file as an attachment."""
    parts = [f"--{boundary}\r\nContent-Type: {alternative_type}\r\n\r\n".encode(), alternative]
    for attachment in attachments:
        filename = single_line(attachment.filename).replace('"', "")
        head = (
            f"--{boundary}\r\nContent-Type: {attachment.content_type}\r\n"
            f'Content-Disposition: attachment; filename="{filename}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        )
        parts.append(head.encode() + _base64_lines(attachment.data))
    parts += [f"--{boundary}--".encode(), CRLF]
    return b"".join(parts)


def _part(boundary: str, subtype: str, text: str) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head.encode() + _base64_lines(text.encode())


def _base64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    # Lines of 76 characters (RFC 2045), cut in one pass rather than per 57 bytes of input.
    lines = [encoded[start : start + 76] for start in range(0, len(encoded), 76)]
    lines.append(b"")  # the last line ends with CRLF too
    return CRLF.join(lines)


def _folded(name: str, value: str) -> str:
    """One header, folded after the commas of a long list (List-Unsubscribe); every line stays
    under RFC 5322's limit of 998 characters (a URL cannot be folded, and never is that long)."""
    if len(name) + len(value) > 76 and "\n" not in value:
        value = value.replace(", ", ",\r\n ")
    else:
        value = value.replace("\n", "\r\n")
    return f"{name}: {value}\r\n"


@lru_cache(maxsize=2)
def _date(second: int) -> str:
    """The Date header, written once a second rather than once an email."""
    return formatdate(second, usegmt=True)


@lru_cache(maxsize=16)
def _parsed(sender: str) -> tuple[str, str]:
    return parseaddr(sender)


@lru_cache(maxsize=16)
def _sender(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8") if address.isascii() else address


def _header(value: str) -> str:
    return value if value.isascii() else _encoded_words(value)


@lru_cache(maxsize=256)
def _encoded_words(value: str) -> str:
    """RFC 2047, folded: a campaign's subject is encoded once, not for every recipient."""
    return Header(value, "utf-8", header_name="Subject").encode(linesep="\n")
