"""Postmark's bounce and spam-complaint webhooks.

Postmark does not sign its webhooks; it sends the credentials written into the webhook URL
(``https://user:password@host/api/v1/bounces/postmark``) as HTTP Basic auth, and those are
checked here in constant time against ``POSTMARK_WEBHOOK_USER`` and
``POSTMARK_WEBHOOK_PASSWORD`` before the body is read.

Postmark sends from a return path of its own, so our VERP tag does not come back: a report is
found by the Message-ID when the payload carries the original headers, else by the address.
``MessageID`` in the payload is Postmark's own id of the message, never our Message-ID.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

from alumni.bounces.providers import Malformed, NotAuthentic, Refusal
from alumni.bounces.reports import Report, ReportKind

# https://postmarkapp.com/developer/api/bounce-api#bounce-types: the types that say something
# about the address. The rest is ignored: Unsubscribe/Subscribe requests, AddressChange,
# ChallengeVerification and VirusNotification mails; OpenRelayTest, Unknown; our own errors
# (SMTPApiError, TemplateRenderingFailed, DMARCPolicy, InboundError); Blocked and
# SpamNotification (a filter judged the message or the sender, not the address);
# ManuallyDeactivated and Unconfirmed (an account decision in Postmark, not the recipient's).
BOUNCE_KINDS = {
    "HardBounce": ReportKind.HARD,
    "BadEmailAddress": ReportKind.HARD,
    "SoftBounce": ReportKind.SOFT,
    "Transient": ReportKind.SOFT,
    "DnsError": ReportKind.SOFT,
    "AutoResponder": ReportKind.AUTO_REPLY,
    "SpamComplaint": ReportKind.COMPLAINT,
}
BOUNCE = "Bounce"
SPAM_COMPLAINT = "SpamComplaint"


def check_credentials(user: str, password: str, *, expected: tuple[str, str]) -> None:
    """Both compared in constant time, and both always, so that the time taken says nothing
    about which one was wrong."""
    same_user = hmac.compare_digest(user.encode(), expected[0].encode())
    same_password = hmac.compare_digest(password.encode(), expected[1].encode())
    if not (same_user and same_password):
        raise NotAuthentic(Refusal.BAD_CREDENTIALS)


def webhook_reports(body: bytes) -> list[Report]:
    """The report of one bounce or spam-complaint record; other records (delivery, open,
    click, subscription change) and bounce types that say nothing about the address give
    none."""
    try:
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("the body is not a JSON document") from None
    if not isinstance(record, dict):
        raise Malformed("the body is not a JSON object")
    kind = record_kind(record)
    if kind is None:
        return []
    address = parseaddr(_string(record, "Email") or "")[1]
    if "@" not in address:
        raise Malformed("Email must be an email address")
    return [Report(kind, address=address, message_id=original_message_id(record))]


def record_kind(record: Mapping[str, Any]) -> ReportKind | None:
    record_type = _string(record, "RecordType")
    if record_type == SPAM_COMPLAINT:
        return ReportKind.COMPLAINT
    if record_type != BOUNCE:
        return None
    bounce_type = _string(record, "Type")
    if bounce_type is None:
        raise Malformed("Type must be a string")
    return BOUNCE_KINDS.get(bounce_type)


def original_message_id(record: Mapping[str, Any]) -> str | None:
    """Our Message-ID, from the ``Headers`` list (``{"Name", "Value"}``) when it is there."""
    headers = record.get("Headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if not isinstance(header, dict) or str(header.get("Name", "")).lower() != "message-id":
            continue
        value = header.get("Value")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _string(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{name} must be a string")
    return value
