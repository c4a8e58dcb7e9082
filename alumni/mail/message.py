"""An email as the app composes it, and the MIME message that goes on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr


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
class Email:
    to: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)


def single_line(value: str) -> str:
    """Header values built from data never carry a line break, so they cannot add headers."""
    return " ".join(value.splitlines()).strip()


def build_message(email: Email, sender: str) -> EmailMessage:
    """Multipart text and HTML, with Message-ID and Date; no tracking of any kind here."""
    message = EmailMessage()
    name, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "localhost"
    message["From"] = Address(display_name=single_line(name), addr_spec=address)
    message["To"] = Address(addr_spec=single_line(email.to))
    message["Subject"] = single_line(email.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    for header, value in email.headers.items():
        message[header] = single_line(value)
    message.set_content(email.text, subtype="plain", charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    return message
