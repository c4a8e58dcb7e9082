"""DKIM signatures (dkimpy), when a key is configured.

The signature covers both List-Unsubscribe headers, as RFC 8058 section 3.1 requires for a
one-click unsubscribe that mail providers will trust.
"""

from __future__ import annotations

from pathlib import Path

import dkim

from alumni.mail.message import OutgoingMessage

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-unsubscribe", b"list-unsubscribe-post", b"list-id",
)  # fmt: skip


class Signer:
    def __init__(self, key_path: str, selector: str, domain: str) -> None:
        self.key = Path(key_path).read_bytes()
        self.selector = selector.encode()
        self.domain = domain.encode()

    def sign(self, message: OutgoingMessage) -> None:
        """Add a DKIM-Signature header over the message as it will be sent."""
        present = {name.lower().encode() for name in message}
        headers = [name for name in SIGNED_HEADERS if name in present]
        signature = dkim.sign(
            message.as_bytes(),
            self.selector,
            self.domain,
            self.key,
            include_headers=headers,
            canonicalize=(b"relaxed", b"relaxed"),
        )
        name, _, value = signature.decode().partition(":")
        # Unfolded: relaxed canonicalisation ignores how the header is folded on the wire.
        message.prepend_header(name, " ".join(value.split()))
