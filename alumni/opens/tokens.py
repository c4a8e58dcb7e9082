"""The pixel token: a fresh random nonce and a MAC under the campaign's key.

``base64url(campaign id (4 bytes) | nonce (16 bytes) | MAC (16 bytes))``, 48 characters. The
MAC (HMAC-SHA256 under ``Campaign.tracking_key``, cut to 128 bits) lets the server tell a
genuine token from a forged one without keeping any list of the tokens it made. The nonce is
drawn when the email is composed and written nowhere but into that email.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass

CAMPAIGN_ID = struct.Struct(">I")
NONCE_BYTES = 16
MAC_BYTES = 16
TOKEN_BYTES = CAMPAIGN_ID.size + NONCE_BYTES + MAC_BYTES
TOKEN_LENGTH = 48  # base64 of 36 bytes, no padding
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_-]{48}")
# The pixel's address in an email's HTML, for copies that must not keep it.
PIXEL_IN_HTML = re.compile(r"/o/[A-Za-z0-9_-]+\.gif")
KEPT_OUT = "/o/kept-out.gif"


@dataclass(frozen=True)
class PixelToken:
    campaign_id: int
    nonce: bytes
    mac: bytes

    @property
    def signed_part(self) -> bytes:
        return CAMPAIGN_ID.pack(self.campaign_id) + self.nonce

    @property
    def digest(self) -> str:
        """What is stored of an opened token: one-way, so it never gives the token back."""
        return hashlib.sha256(self.signed_part).hexdigest()[:32]

    def is_signed_with(self, key: str) -> bool:
        return hmac.compare_digest(self.mac, _mac(key, self.signed_part))


def make_token(campaign_id: int, key: str) -> str:
    """A new token for one email of this campaign; never the same twice."""
    signed = CAMPAIGN_ID.pack(campaign_id) + secrets.token_bytes(NONCE_BYTES)
    return base64.urlsafe_b64encode(signed + _mac(key, signed)).decode().rstrip("=")


def parse_token(text: str) -> PixelToken | None:
    """The parts of a token of the right shape, or None; the MAC is not checked here."""
    if not TOKEN_CHARACTERS.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text)
    except (binascii.Error, ValueError):
        return None
    (campaign_id,) = CAMPAIGN_ID.unpack_from(raw)
    nonce_end = CAMPAIGN_ID.size + NONCE_BYTES
    return PixelToken(campaign_id, raw[CAMPAIGN_ID.size : nonce_end], raw[nonce_end:])


def without_pixel(html: str) -> str:
    """An email's HTML for a stored copy: the pixel's address says nothing about its token."""
    return PIXEL_IN_HTML.sub(KEPT_OUT, html)


def _mac(key: str, signed: bytes) -> bytes:
    return hmac.new(key.encode(), b"open:" + signed, hashlib.sha256).digest()[:MAC_BYTES]
