"""Telling the kinds of email apart in what a test's mail server received."""

from __future__ import annotations

from email.message import EmailMessage

from alumni.consent.receipts.emails import FILENAME


def is_receipt(message: EmailMessage) -> bool:
    """A consent receipt: the email with the receipt for computers attached."""
    return any(part.get_filename() == FILENAME for part in message.iter_attachments())


def split_receipts(
    messages: list[EmailMessage],
) -> tuple[list[EmailMessage], list[EmailMessage]]:
    """The receipts, and the rest (the campaign mail a journey counts)."""
    receipts = [message for message in messages if is_receipt(message)]
    return receipts, [message for message in messages if not is_receipt(message)]
