"""The return path per message (VERP): ``bounces+<tag>@school.example``, where the tag names the
delivery in a way only this installation can read.

The tag is the delivery sealed with a key derived from ``SECRET_KEY`` (a salt of its own):
what was sent (a campaign delivery, an invitation, a fresh link), its id, and the person's link
version at the time (bumped when their address changes, so a bounce of an address they left
behind is recognised as such). Sealed means encrypted and authenticated, deterministically, as
in SIV: the first ten bytes are a MAC of the content and serve as the nonce of its encryption.
A tampered or foreign tag opens to nothing. It carries no personal data, and it is made from
ids the open-tracking token never sees, with a key of its own: nothing joins the two (I7).

Base32 in lower case: mail systems may change the case of a local part, and 31 characters
leave room for the bounce address's own local part within the 64 of RFC 5321.

The same tag starts the ``Message-ID``, so that a report that quotes the original message is
attributed even when it came back to another address than the return path (a relay that
rewrote the envelope, a feedback loop's own address), with nothing stored per email.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from flask import current_app

from alumni.mail import Email

MAC_BYTES = 10
CONTENT_BYTES = 9  # what (1), id (6), link version (2)
TAG_LENGTH = 31  # base32 of 19 bytes, without padding
# The local part of the bounce address may take what the tag and its "+" leave of 64.
MAX_BOUNCE_LOCAL_PART = 64 - TAG_LENGTH - 1
_BASE32 = frozenset("abcdefghijklmnopqrstuvwxyz234567")


class Sent(IntEnum):
    """What a tagged message was."""

    CAMPAIGN = 1  # the id is the delivery's
    INVITATION = 2  # the id is the alumnus's
    FRESH_LINK = 3  # the id is the alumnus's


@dataclass(frozen=True)
class Tagged:
    """What a tag names: the message sent, the id it is about, and the person's link version
    (modulo 2**16) when it was sent."""

    sent: Sent
    id: int
    link_version: int


def make_tag(tagged: Tagged) -> str:
    """The tag for one message, sealed with the current key."""
    content = (
        bytes([tagged.sent])
        + tagged.id.to_bytes(6, "big")
        + (tagged.link_version % 65536).to_bytes(2, "big")
    )
    mac_key, cipher_key = _keys(current_app.config["SECRET_KEY"])
    mac = hmac.digest(mac_key, content, hashlib.sha256)[:MAC_BYTES]
    sealed = mac + _xor(content, hmac.digest(cipher_key, mac, hashlib.sha256))
    return base64.b32encode(sealed).decode().rstrip("=").lower()


def read_tag(tag: str) -> Tagged | None:
    """What a tag names, or None: tampered, made with another key (a foreign installation, a
    key no longer among ``SECRET_KEY_FALLBACKS``), or not a tag at all."""
    if not looks_like_tag(tag):
        return None
    try:
        sealed = base64.b32decode(tag.upper() + "=")
    except ValueError:  # binascii.Error: bits that no encoder writes
        return None
    mac, encrypted = sealed[:MAC_BYTES], sealed[MAC_BYTES:]
    for secret in _secrets():
        mac_key, cipher_key = _keys(secret)
        content = _xor(encrypted, hmac.digest(cipher_key, mac, hashlib.sha256))
        if hmac.compare_digest(hmac.digest(mac_key, content, hashlib.sha256)[:MAC_BYTES], mac):
            return _opened(content)
    return None


def looks_like_tag(text: str) -> bool:
    """Shaped like a tag (no key needed): for picking one out of the addresses in a report."""
    return len(text) == TAG_LENGTH and set(text.lower()) <= _BASE32


def tag_in_address(address: str) -> str | None:
    """The tag of a return path (``bounces+<tag>@school.example``), whatever the case."""
    local = address.strip().strip("<>").rpartition("@")[0]
    extension = local.partition("+")[2]
    return extension.lower() if looks_like_tag(extension) else None


def tag_in_message_id(message_id: str) -> str | None:
    """The tag that starts a ``Message-ID`` made by ``stamped``."""
    first = message_id.strip().strip("<>").partition(".")[0]
    return first.lower() if looks_like_tag(first) else None


def stamped(email: Email, tagged: Tagged) -> Email:
    """The email with the tag in its ``Message-ID`` and, when ``BOUNCE_ADDRESS`` is set, in
    its return path; unset, the envelope sender stays ``MAIL_FROM``."""
    tag = make_tag(tagged)
    bounce_address = current_app.config["BOUNCE_ADDRESS"]
    domain = (bounce_address or current_app.config["MAIL_FROM"]).rpartition("@")[2].strip("<> ")
    return dataclasses.replace(
        email,
        return_path=return_path(bounce_address, tag) if bounce_address else None,
        message_id=f"<{tag}.{secrets.token_hex(6)}@{domain or 'localhost'}>",
    )


def return_path(bounce_address: str, tag: str) -> str:
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{tag}@{domain}"


def _opened(content: bytes) -> Tagged | None:
    try:
        sent = Sent(content[0])
    except ValueError:
        return None
    return Tagged(sent, int.from_bytes(content[1:7], "big"), int.from_bytes(content[7:], "big"))


def _secrets() -> Iterable[str]:
    yield current_app.config["SECRET_KEY"]
    yield from current_app.config.get("SECRET_KEY_FALLBACKS") or ()


@lru_cache(maxsize=8)
def _keys(secret: str) -> tuple[bytes, bytes]:
    """The MAC key and the encryption key, derived from a secret key with their own salt:
    neither is any other part's key, nor tells anything of the secret key."""
    root = hmac.digest(secret.encode(), b"alumni.bounces.verp", hashlib.sha256)
    return (
        hmac.digest(root, b"mac", hashlib.sha256),
        hmac.digest(root, b"encryption", hashlib.sha256),
    )


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))
