"""What a message that came back says: one ``Report`` per recipient it is about.

In order: an ARF complaint (RFC 5965, ``multipart/report; report-type=feedback-report``); a
delivery status notification (RFC 3464, ``report-type=delivery-status``), read here for its
status codes; an auto-reply or out-of-office (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``,
``Precedence: auto_reply``), ignored; a non-standard bounce (Exchange, qmail, old Postfix and
more), recognised by flufl.bounce. Anything else reports nothing.

Each report carries what finds the delivery: the VERP tag of the address the message came
back to (or of the original's return path, as quoted in it) and the original's Message-ID.
Nothing of the message's body is kept.
"""

from __future__ import annotations

import email
import email.message
import logging
from collections.abc import Callable, Iterator

from flufl.bounce import all_failures

from alumni.bounces.reports import Report, ReportKind
from alumni.bounces.verp import tag_in_address

log = logging.getLogger(__name__)

# Where the address a message came back to is written: the MTA's delivery headers first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# Where a quoted original names its return path.
ORIGINAL_SENDER_HEADERS = ("Return-Path", "Sender")
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
MAILER_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon")
ORIGINAL_PARTS = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")

# Makes a report with the tag and Message-ID found in the message: (kind, address, status).
_ReportMaker = Callable[..., Report]


def read_message(raw: bytes, *, envelope_recipient: str | None = None) -> list[Report]:
    """The reports in one RFC 5322 message; an empty list when it is none of the above.
    ``envelope_recipient`` is the address the MTA delivered it to, when it says so (a pipe
    alias's ``$ORIGINAL_RECIPIENT``)."""
    message = email.message_from_bytes(raw)
    original = _original_headers(message)
    tag = _verp_tag(message, original, envelope_recipient)
    message_id = original.get("Message-ID") if original is not None else None
    message_id = message_id.strip() if message_id else None

    def report(kind: ReportKind, address: str | None, status: str | None = None) -> Report:
        return Report(kind, address or None, tag, message_id, status)

    report_type = message.get_param("report-type", header="Content-Type")
    if message.get_content_type() == "multipart/report" and isinstance(report_type, str):
        if report_type.lower() == "feedback-report":
            return _complaint(message, original, report)
        if report_type.lower() == "delivery-status":
            return list(_delivery_status(message, report))
    if is_auto_reply(message):
        return [report(ReportKind.AUTO_REPLY, None)]
    try:
        temporary, permanent = all_failures(message)
    except Exception as error:  # a heuristic detector that trips on odd mail (no From, say)
        # Not recognised: retrying would trip it again, so the message is not kept waiting.
        log.warning("no bounce detector could read a message: %s", type(error).__name__)
        return []
    return [report(ReportKind.HARD, _text(a)) for a in sorted(permanent)] + [
        report(ReportKind.SOFT, _text(a)) for a in sorted(temporary - permanent)
    ]


def is_auto_reply(message: email.message.Message) -> bool:
    """An out-of-office, vacation notice or other automatic answer (RFC 3834 and the common
    non-standard headers), and not from a mailer daemon: bounces are auto-submitted too."""
    sender = (message.get("From") or "").lower()
    if any(daemon in sender for daemon in MAILER_DAEMONS):
        return False
    auto_submitted = (message.get("Auto-Submitted") or "no").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    return (
        auto_submitted != "no"
        or precedence == "auto_reply"
        or any(message.get(name) for name in AUTO_REPLY_HEADERS)
    )


def _complaint(
    message: email.message.Message,
    original: email.message.Message | None,
    report: _ReportMaker,
) -> list[Report]:
    """An ARF report: one complaint, about the original's recipient, unless the feedback type
    says it is no complaint (``not-spam``)."""
    fields = _first_block(message, "message/feedback-report")
    feedback_type = (fields.get("Feedback-Type") or "abuse").strip().lower()
    if feedback_type == "not-spam":
        return []
    address = fields.get("Original-Rcpt-To") or (original.get("To") if original else None)
    return [report(ReportKind.COMPLAINT, _address(address))]


def _delivery_status(message: email.message.Message, report: _ReportMaker) -> Iterator[Report]:
    """One report per recipient that failed (hard or soft by its status) or was delayed (soft);
    delivered, relayed or expanded recipients report nothing."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload()[1:]:  # the first block is about the message
            action = (block.get("Action") or "").strip().lower()
            status = (block.get("Status") or "").strip().split(" ")[0] or None
            recipient = block.get("Original-Recipient") or block.get("Final-Recipient")
            address = _address((recipient or "").partition(";")[2] or recipient)
            if action == "failed":
                soft = status is not None and status.startswith("4")
                yield report(ReportKind.SOFT if soft else ReportKind.HARD, address, status)
            elif action == "delayed":
                yield report(ReportKind.SOFT, address, status)


def _original_headers(message: email.message.Message) -> email.message.Message | None:
    """The headers of the original message, when the report quotes it."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type not in ORIGINAL_PARTS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            return payload[0]
        if isinstance(payload, str):
            return email.message_from_string(payload)
    return None


def _verp_tag(
    message: email.message.Message,
    original: email.message.Message | None,
    envelope_recipient: str | None,
) -> str | None:
    """The first tag among the addresses the report came back to, the return path the
    original names and, for an ARF report, its ``Original-Mail-From``."""
    candidates = [envelope_recipient or ""]
    for name in RECIPIENT_HEADERS:
        candidates += message.get_all(name) or []
    if original is not None:
        for name in ORIGINAL_SENDER_HEADERS:
            candidates += original.get_all(name) or []
    candidates.append(
        _first_block(message, "message/feedback-report").get("Original-Mail-From") or ""
    )
    for candidate in candidates:
        for _, address in email.utils.getaddresses([candidate]):
            tag = tag_in_address(address)
            if tag is not None:
                return tag
    return None


def _first_block(message: email.message.Message, content_type: str) -> email.message.Message:
    """The header block of the first part of this type (an ARF report's fields)."""
    for part in message.walk():
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            return payload[0]
        if isinstance(payload, str):
            return email.message_from_string(payload)
    return email.message.Message()


def _address(value: str | None) -> str | None:
    if not value:
        return None
    address = email.utils.parseaddr(value.strip())[1]
    return address if "@" in address else None


def _text(address: bytes) -> str:
    return address.decode("ascii", errors="replace")
