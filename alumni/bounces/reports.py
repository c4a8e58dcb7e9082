"""What a bounce or a complaint says, whoever delivered it: the shape every way in produces
and the one processing path reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReportKind(StrEnum):
    HARD = "hard"  # permanent failure (5.x.x): the address does not work
    SOFT = "soft"  # transient failure (4.x.x): a full mailbox, a server down for a while
    COMPLAINT = "complaint"  # the recipient marked the message as spam (ARF, a provider's report)
    AUTO_REPLY = "auto-reply"  # out of office, vacation, an autoresponder: ignored


@dataclass(frozen=True)
class Report:
    """One recipient's bounce or complaint. No message body is kept: only what is needed to find
    the delivery and decide what it means.

    ``verp_tag`` is the signed tag of the return path the message was sent with (the part after
    ``+`` in ``bounces+<tag>@school.example``), when the report came back to it; ``message_id``
    the ``Message-ID`` of the original message, when the report quotes it; ``address`` the
    recipient as the report names it. The recipient is found by the tag first, then by the
    message id, then by the address. ``status`` is the enhanced status code (``5.1.1``) when the
    report gives one.
    """

    kind: ReportKind
    address: str | None = None
    verp_tag: str | None = None
    message_id: str | None = None
    status: str | None = None
