"""The receipt email: the person's choices in words, with the receipt attached as JSON."""

from __future__ import annotations

import json

from babel import dates as babel_dates

from alumni.consent.receipts.document import ReceiptFacts, notice_url, receipt_document
from alumni.mail import Attachment, Email
from alumni.mail.compose import render_email
from alumni.models import LOCAL_TIME, Alumnus
from alumni.people.links import LinkKind, link_url

FILENAME = "consent-receipt.json"


def consent_receipt(alumnus: Alumnus, facts: ReceiptFacts) -> Email:
    """Each purpose with yes or no, the time, the notice's version with a link to its text,
    and the way to the preferences (none in the last receipt: the links have died)."""
    document = receipt_document(facts)
    attachment = Attachment(
        filename=FILENAME,
        content_type="application/json",
        data=json.dumps(document, ensure_ascii=False, indent=2).encode(),
    )
    when = babel_dates.format_datetime(
        facts.decided_at.astimezone(LOCAL_TIME), format="long", locale=facts.language
    )
    return render_email(
        "consent_receipt",
        to=alumnus.email or "",
        locale=facts.language,
        attachments=(attachment,),
        name=alumnus.display_name,
        choices=list(facts.choices.items()),
        when=when,
        version=facts.notice.version,
        notice_url=notice_url(facts),
        notice_sha256=facts.notice_sha256,
        receipt_id=document["consentReceiptID"],
        erasure=facts.erasure,
        preferences_url=None if facts.erasure else link_url(LinkKind.PREFERENCES, alumnus),
    )
