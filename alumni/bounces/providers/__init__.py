"""The webhooks of mail providers that send for the school (Amazon SES through SNS, Postmark).

Each provider module first checks that the provider itself sent the request (SNS's signature,
Postmark's credentials), then turns the body into ``Report`` values; the web adapter
(``alumni/web/api/bounces.py``) answers the provider and hands the reports on with
``deliver_reports``. Nothing is handed on from a request that failed its check.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr
from enum import StrEnum

from alumni.bounces.reports import Report


class Refusal(StrEnum):
    """Why a request was not taken to come from the provider; the audit log says this word."""

    BAD_SIGNATURE = "bad-signature"  # SNS: the signature does not match the signed fields
    FOREIGN_HOST = "foreign-host"  # SNS: a certificate or subscribe URL off the provider's hosts
    BAD_CERTIFICATE = "bad-certificate"  # SNS: not an RSA certificate, or outside its validity
    UNKNOWN_TOPIC = "unknown-topic"  # SNS: signed by AWS, for a topic this service did not list
    BAD_CREDENTIALS = "bad-credentials"  # Postmark: missing or wrong Basic auth


class NotAuthentic(Exception):
    """The provider did not send this request, as far as its check can tell."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


class NotOurs(Exception):
    """The provider sent it, but for a topic this installation did not subscribe to: anyone
    with an AWS account can point a topic of their own at the webhook."""

    reason = Refusal.UNKNOWN_TOPIC


class Malformed(ValueError):
    """The body is not what the provider documents; the message says which part is wrong."""


class ProviderUnreachable(Exception):
    """The provider's certificate or confirmation URL could not be fetched just now: the
    request is answered 503, so that the provider sends it again later."""


def deliver_reports(reports: Sequence[Report], source: str) -> None:
    """Hand each report to the one processing path that every way in shares; ``source``
    names the provider (``ses``, ``postmark``)."""
    from alumni.bounces.processing import record

    for report in reports:
        record(report, source=source)


def verp_tag(address: str | None) -> str | None:
    """The tag of our return path ``bounces+<tag>@school.example``: the part of the local part
    after the first ``+``. Not verified here: the processing path checks its signature."""
    local, at, _ = parseaddr(address or "")[1].rpartition("@")
    tag = local.partition("+")[2]
    return tag if at and tag else None
