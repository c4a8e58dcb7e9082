"""Consent receipts: after every answer the person gets an email with their choices and a
machine-readable receipt (Kantara Initiative Consent Receipt Specification 1.1).

- ``document``: the receipt as JSON, pseudonymous (``docs/consent-receipt.md``).
- ``email``: the email in the person's language, with the receipt attached.
- ``delivery``: when a receipt is owed and when it leaves: at once after an answer, at most
  one an hour after one-click opt-outs, and the last one before an erasure.
"""

from alumni.consent.receipts.delivery import (
    BATCH_WINDOW,
    ReceiptOutcome,
    deliver_receipt,
    last_receipt_then_erase,
    owe_receipt,
    send_due,
)

__all__ = [
    "BATCH_WINDOW",
    "ReceiptOutcome",
    "deliver_receipt",
    "last_receipt_then_erase",
    "owe_receipt",
    "send_due",
]
