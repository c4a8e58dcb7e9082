"""Amazon SES bounces and complaints, delivered by SNS to an HTTPS subscription.

SNS posts one JSON document per request (``Type`` Notification, SubscriptionConfirmation or
UnsubscribeConfirmation) signed with RSA: SignatureVersion 1 is SHA1withRSA and 2 is
SHA256withRSA, over the documented fields of the message type, in their documented order, each
as ``name\\nvalue\\n``. The signing certificate is fetched from ``SigningCertURL`` only when that
is an https URL on an SNS host (``SES_SNS_CERT_HOSTS``), without following redirects, and kept
in memory. Only then is the topic checked against ``SES_SNS_TOPIC_ARNS``, a subscription
confirmed or a notification read.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from alumni.bounces.providers import (
    Malformed,
    NotAuthentic,
    NotOurs,
    ProviderUnreachable,
    Refusal,
    verp_tag,
)
from alumni.bounces.reports import Report, ReportKind

log = logging.getLogger(__name__)

# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
OPTIONAL_FIELDS = frozenset({"Subject"})  # a notification published without a subject has none
SIGNATURE_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,
    "2": hashes.SHA256,
}
FETCH_TIMEOUT = 10  # seconds, for the certificate and the subscription confirmation
# A certificate, or SNS's answer to a confirmation: a few kilobytes.
MAX_FETCH_BYTES = 64 * 1024
MAX_CACHED_CERTIFICATES = 32  # SNS uses one certificate per region at a time

# SES: https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
BOUNCE_KINDS = {
    "Permanent": ReportKind.HARD,
    "Transient": ReportKind.SOFT,
    # SES could not tell why: counted as soft, so that only repeated failures stop the mail.
    "Undetermined": ReportKind.SOFT,
}
# A recipient who tells their provider "this is not spam" has not complained.
NOT_A_COMPLAINT = "not-spam"
DSN_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")

_certificates: dict[str, x509.Certificate] = {}
_certificates_lock = threading.Lock()


def notification_reports(
    body: bytes, *, topics: frozenset[str], cert_hosts: re.Pattern[str]
) -> list[Report]:
    """The reports of one SNS request, after its signature and topic are checked; a
    subscription (un)confirmation gives none, and a subscription is confirmed here."""
    message = sns_message(body)
    verify_signature(message, cert_hosts)
    if message["TopicArn"] not in topics:
        raise NotOurs(message["TopicArn"])
    if message["Type"] == "SubscriptionConfirmation":
        confirm_subscription(message, cert_hosts)
        return []
    if message["Type"] == "UnsubscribeConfirmation":
        log.warning("SNS ended the subscription to %s: SES reports stop", message["TopicArn"])
        return []
    return ses_reports(ses_notification(message["Message"]))


# -- the SNS envelope ----------------------------------------------------------------------------


def sns_message(body: bytes) -> dict[str, str]:
    """The SNS document, with every field its type signs present and a string."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("the body is not a JSON document") from None
    if not isinstance(message, dict):
        raise Malformed("the body is not a JSON object")
    kind = message.get("Type")
    if kind not in SIGNED_FIELDS:
        raise Malformed(f"Type must be one of: {', '.join(SIGNED_FIELDS)}")
    needed = [
        *(name for name in SIGNED_FIELDS[kind] if name not in OPTIONAL_FIELDS),
        "Signature",
        "SignatureVersion",
        "SigningCertURL",
    ]
    for name in needed:
        if not isinstance(message.get(name), str):
            raise Malformed(f"{name} must be a string")
    for name in OPTIONAL_FIELDS:
        if name in message and not isinstance(message[name], str):
            raise Malformed(f"{name} must be a string when present")
    return message


def string_to_sign(message: Mapping[str, str]) -> bytes:
    """The documented fields of the message's type in their order, each ``name\\nvalue\\n``."""
    fields = SIGNED_FIELDS[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields if name in message).encode()


def verify_signature(message: Mapping[str, str], cert_hosts: re.Pattern[str]) -> None:
    algorithm = SIGNATURE_HASHES.get(message["SignatureVersion"])
    if algorithm is None:
        raise NotAuthentic(Refusal.BAD_SIGNATURE)
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError):
        raise NotAuthentic(Refusal.BAD_SIGNATURE) from None
    key = signing_key(message["SigningCertURL"], cert_hosts)
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise NotAuthentic(Refusal.BAD_SIGNATURE) from None


def check_sns_url(url: str, cert_hosts: re.Pattern[str]) -> None:
    """An https URL on an SNS host, nothing else: the certificate's trust rests on TLS to
    that host, and a confirmation must not make this server call anywhere else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise NotAuthentic(Refusal.FOREIGN_HOST) from None
    if (
        parts.scheme != "https"
        or parts.username is not None
        or port not in (None, 443)
        or not cert_hosts.fullmatch(parts.hostname or "")
    ):
        raise NotAuthentic(Refusal.FOREIGN_HOST)


def signing_key(url: str, cert_hosts: re.Pattern[str]) -> rsa.RSAPublicKey:
    """The public key of the certificate at ``url``, fetched once per process."""
    check_sns_url(url, cert_hosts)
    if not urlsplit(url).path.endswith(".pem"):
        raise NotAuthentic(Refusal.FOREIGN_HOST)
    certificate = _certificates.get(url)
    if certificate is None:
        certificate = load_certificate(fetch(url))
        with _certificates_lock:
            if len(_certificates) >= MAX_CACHED_CERTIFICATES:
                _certificates.clear()
            _certificates[url] = certificate
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise NotAuthentic(Refusal.BAD_CERTIFICATE)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise NotAuthentic(Refusal.BAD_CERTIFICATE)
    return key


def load_certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise NotAuthentic(Refusal.BAD_CERTIFICATE) from None


def forget_certificates() -> None:
    """Empty the in-memory cache (tests; a rotated certificate has a new URL anyway)."""
    with _certificates_lock:
        _certificates.clear()


def fetch(url: str) -> bytes:
    """GET ``url`` without following redirects (a redirect could leave the SNS hosts)."""
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True)
        with response:
            if response.status_code != 200:
                raise ProviderUnreachable(
                    f"{urlsplit(url).hostname} answered {response.status_code}"
                )
            body = response.raw.read(MAX_FETCH_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise ProviderUnreachable(f"{urlsplit(url).hostname}: {type(error).__name__}") from None
    if len(body) > MAX_FETCH_BYTES:
        raise ProviderUnreachable(
            f"{urlsplit(url).hostname} sent more than {MAX_FETCH_BYTES} bytes"
        )
    return body


def confirm_subscription(message: Mapping[str, str], cert_hosts: re.Pattern[str]) -> None:
    """Visit SubscribeURL, as SNS asks: from then on the topic's notifications come here."""
    check_sns_url(message["SubscribeURL"], cert_hosts)
    fetch(message["SubscribeURL"])
    log.info("SNS subscription to %s confirmed", message["TopicArn"])


# -- the SES notification inside -----------------------------------------------------------------


def ses_notification(text: str) -> dict[str, Any]:
    try:
        notification = json.loads(text)
    except ValueError:
        raise Malformed("Message is not the JSON of an SES notification") from None
    if not isinstance(notification, dict):
        raise Malformed("Message is not the JSON of an SES notification")
    return notification


def ses_reports(notification: Mapping[str, Any]) -> list[Report]:
    """One report per bounced or complaining recipient; a delivery or any other event gives
    none. Event publishing (configuration sets) says ``eventType`` where SES's own
    notifications say ``notificationType``."""
    kind = notification.get("notificationType") or notification.get("eventType")
    if kind not in ("Bounce", "Complaint"):
        return []
    mail = _object(notification, "mail")
    tag = verp_tag(_optional_string(mail, "source", "mail"))
    message_id = original_message_id(mail)
    if kind == "Bounce":
        bounce = _object(notification, "bounce")
        bounce_type = bounce.get("bounceType")
        if bounce_type not in BOUNCE_KINDS:
            raise Malformed(f"bounce.bounceType must be one of: {', '.join(BOUNCE_KINDS)}")
        return [
            Report(
                BOUNCE_KINDS[bounce_type],
                address=_address(recipient, "bounce.bouncedRecipients"),
                verp_tag=tag,
                message_id=message_id,
                status=_dsn_status(recipient.get("status")),
            )
            for recipient in _objects(bounce, "bouncedRecipients", "bounce")
        ]
    complaint = _object(notification, "complaint")
    if complaint.get("complaintFeedbackType") == NOT_A_COMPLAINT:
        return []
    return [
        Report(
            ReportKind.COMPLAINT,
            address=_address(recipient, "complaint.complainedRecipients"),
            verp_tag=tag,
            message_id=message_id,
        )
        for recipient in _objects(complaint, "complainedRecipients", "complaint")
    ]


def original_message_id(mail: Mapping[str, Any]) -> str | None:
    """The Message-ID we sent. SES gives the message an id of its own (``mail.messageId``) and,
    for mail sent through its SMTP interface, a Message-ID header of its own: the original
    header is in ``mail.headers`` (when the identity includes headers), else perhaps in
    ``commonHeaders``; SES's own id is never ours."""
    candidates = [
        header.get("value")
        for header in mail.get("headers") or []
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id"
    ]
    common = mail.get("commonHeaders")
    if isinstance(common, dict):
        candidates.append(common.get("messageId"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip() and candidate != mail.get("messageId"):
            return candidate.strip()
    return None


def _object(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise Malformed(f"{name} must be an object")
    return value


def _objects(parent: Mapping[str, Any], name: str, where: str) -> list[Mapping[str, Any]]:
    value = parent.get(name)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Malformed(f"{where}.{name} must be a list of objects")
    return value


def _optional_string(parent: Mapping[str, Any], name: str, where: str) -> str | None:
    value = parent.get(name)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{where}.{name} must be a string")
    return value


def _address(recipient: Mapping[str, Any], where: str) -> str:
    address = parseaddr(_optional_string(recipient, "emailAddress", where) or "")[1]
    if "@" not in address:
        raise Malformed(f"{where}[].emailAddress must be an email address")
    return address


def _dsn_status(value: object) -> str | None:
    """The enhanced status code (``5.1.1``) when SES gives a well-formed one."""
    if isinstance(value, str) and DSN_STATUS.fullmatch(value.strip()):
        return value.strip()
    return None
